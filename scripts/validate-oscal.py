#!/usr/bin/env python3
"""Validates OSCAL Assessment Results JSON files with compliance-trestle's models.

trestle's pydantic models are generated from NIST's OSCAL 1.1.3 JSON schema and enforce it:
required fields, no unknown fields, UUID, token, date-time and string patterns, enumerations.
Runs offline. Prints one line per file; exits 1 if any file is invalid, 2 on a usage error.
Used by the OSCAL tests (Tests/CloisterReportTests, Tests/CloisterIntegrationTests).
"""
import json
import sys

try:
    import trestle.oscal
    from trestle.oscal.assessment_results import Model
except ImportError as error:  # pragma: no cover
    print(f"validate-oscal: compliance-trestle is not installed ({error}); run scripts/install-deps.sh", file=sys.stderr)
    sys.exit(2)


def main(paths):
    if not paths:
        print("usage: validate-oscal.py FILE...", file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
            document = json.loads(raw.decode("utf-8", errors="strict"))
            Model.parse_obj(document)
        except Exception as error:  # every failure is the file's: report it, go on
            failed = True
            print(f"{path}: INVALID: {error}")
            continue
        print(f"{path}: valid OSCAL {trestle.oscal.OSCAL_VERSION} assessment-results")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
