"""A real store's first day: the store, the team's calendar, the first admin and the support
mailbox, set up by `storedesk setup` or by the first-run page while no store exists."""
