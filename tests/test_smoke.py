from storedesk.accounts.roles import Role


def test_roles_are_synced_after_migrate(make_user):
    user = make_user(Role.AGENT)
    assert user.has_perm("commerce.view_order")
    assert not user.has_perm("commerce.view_payment_details")
