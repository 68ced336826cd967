"""Wafa's shared platform library: everything two services need lives here, once."""
