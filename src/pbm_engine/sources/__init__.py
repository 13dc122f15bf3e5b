"""Readers of files from outside: the book's YAML, CMS, FDA and NCPDP files.

Validation with pydantic lives here, so importing the engine loads neither pydantic nor yaml."""
