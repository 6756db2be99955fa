"""Use cases the screens call: lookup, checkout, enrolment. Qt-free; they take an engine and return plain data."""
