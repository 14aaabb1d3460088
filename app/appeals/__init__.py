"""Appeals against results, flags on faulty items, complaints about the process."""
