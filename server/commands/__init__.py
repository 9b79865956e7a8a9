"""The groups and commands of `queuekiosk` (server/cli.py adds them to it): accounts (user, token),
sites, voice, database (migrate, config, backup, restore); common holds what they share."""
