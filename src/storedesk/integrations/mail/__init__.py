"""Email in from outside: IMAP mailboxes (`imap`) and providers' inbound webhooks (`inbound`)."""
