"""identity: firms, branches, users, clients, groups, rights, sessions, PINs, SMS login."""
