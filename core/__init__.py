"""The ground floor: helpers every app shares (settings helpers, spreadsheets, uploads, imports,
requests, forms, admin mixins, lookups). Imports no app of the project."""
