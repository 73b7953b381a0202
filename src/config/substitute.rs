//! STUB (being written): `${...}` variable substitution in devcontainer.json.
