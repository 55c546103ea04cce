"""The desk's screens: the inbox (`inbox`), the ticket page (`ticket`), the reply-template
library and search (`templates`), and the customers' public chat and contact form (`public`)."""
