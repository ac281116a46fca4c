"""Common schema v1: the one wire format every adapter maps to and from."""
