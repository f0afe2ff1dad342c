#!/usr/bin/env bash
# Runs the playbooks of the collection as users do, `ansible-playbook identitynow.tasks.<name>`, against the
# simulated tenant, with the connection from the SAIL_* environment or from variables, and checks exit statuses,
# output and the tenant afterwards. Timeouts and nothing running are tested in the role targets (role_*), which
# need no ansible-playbook start each.
set -eu -o pipefail

CONFIG=../../integration_config.yml
PYTHON=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
OUT=${OUTPUT_DIR:-$(mktemp -d)}
config() { "$PYTHON" -c 'import sys, yaml; c = yaml.safe_load(open(sys.argv[1])); print(eval(sys.argv[2], {}, c))' "$CONFIG" "$1"; }
SIM=$(config isc_sim_url)
export SAIL_BASE_URL=$SIM
SAIL_CLIENT_ID=$(config "isc_pat['client_id']")
SAIL_CLIENT_SECRET=$(config "isc_pat['client_secret']")
export SAIL_CLIENT_ID SAIL_CLIENT_SECRET
export ANSIBLE_NOCOLOR=1
unset SAIL_ACCESS_TOKEN || true
sim() { "$PYTHON" sim.py "$SIM" "$@"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# run NAME EXPECTED_RC PLAYBOOK ARGS...: the output goes to $OUT/NAME.log, and is shown when the status differs.
run() {
    local name=$1 expected=$2 rc=0
    shift 2
    ansible-playbook -i localhost, "$@" > "$OUT/$name.log" 2>&1 || rc=$?
    if [ "$rc" != "$expected" ]; then
        cat "$OUT/$name.log"
        fail "$name: exit status $rc, expected $expected"
    fi
}
has() { grep -q -E -- "$2" "$OUT/$1.log" || { cat "$OUT/$1.log"; fail "$1: no line matches: $2"; }; }
hasnt() { if grep -q -E -- "$2" "$OUT/$1.log"; then cat "$OUT/$1.log"; fail "$1: a line matches: $2"; fi; }

# --- task_report ----------------------------------------------------------------------------------------------------
sim reset empty '[
  {"id": "ok-1", "source_id": "src-ad", "source_name": "Active Directory", "duration": 60, "created_ago": 7200},
  {"id": "ok-2", "source_id": "src-ad", "source_name": "Active Directory", "duration": 3000, "created_ago": 18000},
  {"id": "warn", "source_id": "src-hr", "source_name": "Workday", "duration": 120, "created_ago": 3600, "outcome": "WARNING"},
  {"id": "bad", "source_id": "src-sf", "source_name": "Salesforce", "duration": 30, "created_ago": 600, "outcome": "ERROR"},
  {"id": "refresh", "unique_name": "IDENTITY_REFRESH", "duration": 900, "created_ago": 10000, "outcome": "TERMINATED"},
  {"id": "stuck", "source_id": "src-sap", "source_name": "SAP ERP", "outcome": "STUCK", "duration": 60, "created_ago": 25200},
  {"id": "ancient-stuck", "source_id": "src-sap", "source_name": "SAP ERP", "outcome": "STUCK", "duration": 60, "created_ago": 200000},
  {"id": "old", "source_id": "src-ad", "source_name": "Active Directory", "duration": 60, "created_ago": 100000, "outcome": "ERROR"}
]'
# The connection from variables, which win over a wrong SAIL_* environment, with a read-only API client; at -vvv,
# the secret never shows. (The other playbooks below take the connection from the SAIL_* environment.)
API_ID=$(config "isc_api_client['client_id']")
API_SECRET=$(config "isc_api_client['client_secret']")
SAIL_BASE_URL=http://127.0.0.1:9 SAIL_CLIENT_ID=nobody SAIL_CLIENT_SECRET=wrong \
    run report 0 -vvv identitynow.tasks.task_report -e task_report_hours=24 -e task_report_file="$OUT/report.md" \
    -e isc_base_url="$SIM" -e isc_client_id="$API_ID" -e isc_client_secret="$API_SECRET"
has report '"# ISC task report: the last 24 hours"'
hasnt report "$API_SECRET"
REPORT=$OUT/report.md
# Regular expressions, matched literally: nothing in them is for the shell to expand.
# shellcheck disable=SC2016
for line in \
    '^\| Cloud Account Aggregation \| 2 \| 1 \| 1 \| 0 \| 0 \| 1 \| 5 \|$' \
    '^\| Identity Refresh \| 0 \| 0 \| 0 \| 1 \| 0 \| 0 \| 1 \|$' \
    '^\| 50m 00s \| Active Directory / Cloud Account Aggregation \| src-ad \| SUCCESS \| .* \| ok-2 \|$' \
    '^## Failures \(2\)$' \
    '^- \*\*ERROR\*\* Salesforce / Cloud Account Aggregation \(source id `src-sf`\), started .*, after [0-9]+s \(`bad`\)$' \
    "^  - ERROR: Error connecting to source 'Salesforce'" \
    '^- \*\*TERMINATED\*\* Identity Refresh, ' \
    '^## Pending now \(2\)$' \
    '^\| 2d 07h 33m \| SAP ERP / Cloud Account Aggregation \| src-sap \| .* \| ancient-stuck \|$' \
    '^\| 7h 00m [0-5][0-9]s \| SAP ERP / Cloud Account Aggregation \| src-sap \| Aggregating accounts: [0-9]+ of [0-9]+, [0-9]+% \| .* \| stuck \|$'; do
    grep -q -E -- "$line" "$REPORT" || { cat "$REPORT"; fail "report.md: no line matches: $line"; }
done
# shellcheck disable=SC2016
if grep -q -- '`old`' "$REPORT"; then fail "report.md lists a task older than 24 hours"; fi
slowest=$(sed -n '/^## Slowest runs/,/^## Failures/p' "$REPORT" | grep -c '^| [0-9]')
[ "$slowest" = 5 ] || fail "report.md: $slowest slowest runs, expected 5"
has report "The report was written to $REPORT\."

# A relative task_report_file is written below the directory ansible-playbook was started from, and its path printed.
mkdir -p "$OUT/start/reports"
(cd "$OUT/start" && run report_relative 0 identitynow.tasks.task_report -e task_report_file=reports/relative.md)
[ -s "$OUT/start/reports/relative.md" ] || fail "report_relative: no $OUT/start/reports/relative.md"
has report_relative "\"The report was written to $OUT/start/reports/relative\.md\.\""
# (Resolved against the playbook's directory instead, the write would fail: the collection has no reports/ there.)

# --- wait_for_aggregation -------------------------------------------------------------------------------------------
QUICK=(-e wait_for_aggregation_poll_interval=0.3 -e wait_for_aggregation_progress_interval=1)
sim reset empty '[
  {"id": "agg-1", "source_id": "src-ad", "source_name": "Active Directory", "duration": 16},
  {"id": "agg-2", "source_id": "src-ad", "source_name": "Active Directory", "duration": 9, "outcome": "WARNING"},
  {"id": "groups", "source_id": "src-ad", "source_name": "Active Directory", "unique_name": "Cloud Group Aggregation", "duration": 600},
  {"id": "fails", "source_id": "src-sf", "source_name": "Salesforce", "duration": 2, "outcome": "ERROR"}
]'
run wait_ok 0 identitynow.tasks.wait_for_aggregation "${QUICK[@]}" -e wait_for_aggregation_source_ids=src-ad \
    -e "wait_for_aggregation_task_names='Cloud Account Aggregation'"
has wait_ok '"Waiting up to 60m for 2 of 2 task\(s\):"'
has wait_ok '"running:   Active Directory / Cloud Account Aggregation: [A-Z][^,]+, [0-9]+%, running [0-9]+s \(agg-1\)"'
has wait_ok '"finished:  WARNING    Active Directory / Cloud Account Aggregation, [0-9]+s \(agg-2\): WARN: '
has wait_ok '"SUCCESS: all 2 task\(s\) finished without a status of ERROR, TERMINATED, TEMPERROR, after 0m [0-9]+s\."'
hasnt wait_ok 'groups'
[ "$(grep -c '"After 0m [0-9]+s of 60m: ' -E "$OUT/wait_ok.log")" -ge 2 ] || fail "wait_ok: fewer than 2 progress reports"
# A progress round is information, not plumbing: at most three task headers from one report to the next.
rounds=$(awk '/"After [0-9]+m [0-9]+s of /{ if (seen) print headers; seen = 1; headers = 0 } /^TASK \[/{ headers++ }' "$OUT/wait_ok.log")
[ -n "$rounds" ] || fail "wait_ok: no two consecutive progress reports"
for headers in $rounds; do
    [ "$headers" -le 3 ] || { cat "$OUT/wait_ok.log"; fail "wait_ok: $headers task headers in one progress round"; }
done

run wait_failed 2 identitynow.tasks.wait_for_aggregation "${QUICK[@]}" -e wait_for_aggregation_task_ids=fails,agg-1
has wait_failed 'FAILED: 1 of 2 task\(s\) ended with ERROR'
has wait_failed "ERROR +Salesforce / Cloud Account Aggregation, [0-9]s \(fails\): ERROR: Error connecting to source 'Salesforce'"

# ISC sets completed first and completionStatus later (here 12 s later): in between the task shows as finishing.
sim reset empty '[{"id": "two-step", "source_id": "src-ad", "source_name": "Active Directory", "duration": 2}]' 12
run wait_finishing 0 identitynow.tasks.wait_for_aggregation "${QUICK[@]}" -e wait_for_aggregation_task_ids=two-step
has wait_finishing '"finishing: Active Directory / Cloud Account Aggregation: [^"]*, finishing: completed after [0-9]+s, completion status not yet set \(two-step\)"'
has wait_finishing '"SUCCESS +Active Directory / Cloud Account Aggregation, [0-9]+s \(two-step\)"'
hasnt wait_finishing '"running: +[^"]*100%[^"]*\(two-step\)"'

# --- clear_pending_tasks --------------------------------------------------------------------------------------------
sim reset empty '[
  {"id": "sap", "source_id": "src-sap", "source_name": "SAP ERP", "outcome": "STUCK", "duration": 60, "created_ago": 25200},
  {"id": "ad", "source_id": "src-ad", "source_name": "Active Directory", "outcome": "STUCK", "duration": 60, "created_ago": 90000},
  {"id": "young", "source_id": "src-ad", "source_name": "Active Directory", "outcome": "STUCK", "duration": 60, "created_ago": 600}
]'
run clear_guard 2 identitynow.tasks.clear_pending_tasks -e clear_pending_tasks_older_than=5m -e clear_pending_tasks_max_tasks=2
has clear_guard 'Refusing to clear 3 task\(s\) pending for more than 5m: more than clear_pending_tasks_max_tasks \(2\)'
has clear_guard '  Active Directory / Cloud Account Aggregation, pending for 0h 10m, .*\(young\)'
[ "$(sim patches)" = 0 ] || fail "clear_guard sent a PATCH"

run clear_check 0 identitynow.tasks.clear_pending_tasks --check
has clear_check '"Would clear 2 of 2 task\(s\) pending for more than 6h \(check mode: nothing was changed\)\."'
has clear_check 'SAP ERP / Cloud Account Aggregation, pending for 7h 00m, .*\(sap\): would clear \(ERROR\)'
[ "$(sim patches)" = 0 ] || fail "check mode sent a PATCH"
[ "$(sim status sap)" = None ] || fail "check mode changed a task"

run clear 0 identitynow.tasks.clear_pending_tasks -e clear_pending_tasks_completion_status=TERMINATED
has clear '"Cleared 2 of 2 task\(s\) pending for more than 6h\."'
has clear 'localhost +: ok=[0-9]+ +changed=1 '
[ "$(sim status sap)" = TERMINATED ] && [ "$(sim status ad)" = TERMINATED ] || fail "clear did not clear both"
[ "$(sim status young)" = None ] || fail "clear changed a young task"
[ "$(sim patches)" = 2 ] || fail "clear sent $(sim patches) PATCH requests, expected 2"

run clear_again 0 identitynow.tasks.clear_pending_tasks -e clear_pending_tasks_completion_status=TERMINATED
has clear_again '"Nothing to clear: no task\(s\) pending for more than 6h\."'
has clear_again 'localhost +: ok=[0-9]+ +changed=0 '
[ "$(sim patches)" = 2 ] || fail "the second run sent a PATCH"

# --- demo (make demo runs it); the clock is moved on so that the aggregations have (nearly) finished -----------------
sim reset demo
sim advance 46
run demo 0 identitynow.tasks.demo
has demo 'TASK \[Step ([0-9]) of \1 - clear again, which finds nothing left to do\]'
has demo 'SUCCESS: all [0-9] task\(s\) finished without a status of ERROR, TERMINATED|nothing was running|is still running, so there is nothing to wait for'
has demo '"Would clear 2 of 2 task\(s\) pending for more than 6h \(check mode: nothing was changed\)\."'
has demo '"Cleared 2 of 2 task\(s\) pending for more than 6h\."'
has demo '"Nothing to clear: no task\(s\) pending for more than 6h\."'
echo "playbooks: all checks passed"
