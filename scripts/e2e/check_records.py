"""Waits until the Certyo emulator holds the expected records, then compares them exactly.

usage: python3 check_records.py EMULATOR_URL API_KEY_FILE TENANT EXPECTED_JSON PHASE TIMEOUT_SECONDS
PHASE "snapshot" expects the snapshot records; "all" expects snapshot + workload and nothing else.
For each expected record: the stored version with that collection, recordId and operationType exists, its
recordPayload equals the expected canonical row, and its recordHash is sha256 of that payload's RFC 8785 form.
Prints one PASS/FAIL line per record and "e2e-PHASE: N passed, N failed"; exit status 1 on any failure.
Standard library only (runs with any python3)."""
import hashlib
import json
import sys
import time
import urllib.request


def jcs(value):
    """RFC 8785 for the values used here (no floats): sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def stored_records(url, key, tenant):
    records, cursor = [], None
    while True:
        query = f"{url}/api/v1/records?tenantId={tenant}&limit=1000" + (f"&cursor={cursor}" if cursor else "")
        request = urllib.request.Request(query, headers={"X-API-Key": key})
        with urllib.request.urlopen(request, timeout=10) as answer:
            page = json.load(answer)
        records += page["records"]
        cursor = page.get("nextCursor")
        if not cursor:
            return records


def main(url, key_file, tenant, expected_file, phase, timeout):
    with open(key_file) as f:
        key = f.read().strip()
    with open(expected_file) as f:
        expected_doc = json.load(f)
    expected = expected_doc["snapshot"] + (expected_doc["workload"] if phase == "all" else [])
    identity = lambda r: (r["collection"], r["recordId"], r["operationType"])
    deadline = time.monotonic() + timeout
    while True:
        try:
            stored = stored_records(url, key, tenant)
        except OSError:
            stored = []
        have = {identity(r) for r in stored}
        missing = [e for e in expected if identity(e) not in have]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.25)

    passed = failed = 0
    by_identity = {}
    for record in stored:
        by_identity.setdefault(identity(record), []).append(record)
    for e in expected:
        name = "%s %s %s" % identity(e)
        found = by_identity.get(identity(e), [])
        problems = []
        if len(found) != 1:
            problems.append(f"{len(found)} stored versions, want 1")
        for record in found[:1]:
            if record.get("database") != expected_doc["database"]:
                problems.append(f"database {record.get('database')!r}")
            if record.get("recordPayload") != e["recordPayload"]:
                problems.append("payload " + json.dumps(record.get("recordPayload"), ensure_ascii=False)
                                + " want " + json.dumps(e["recordPayload"], ensure_ascii=False))
            want_hash = "sha256:" + hashlib.sha256(jcs(e["recordPayload"])).hexdigest()
            if record.get("recordHash") != want_hash:
                problems.append(f"recordHash {record.get('recordHash')} want {want_hash}")
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            passed += 1
            print(f"PASS {name}")
    if phase == "all":
        extra = [r for r in stored if identity(r) not in {identity(e) for e in expected}]
        for r in extra:
            failed += 1
            print("FAIL unexpected record %s %s %s: " % identity(r) + json.dumps(r.get("recordPayload")))
    print(f"e2e-{phase}: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:6], float(sys.argv[6])))
