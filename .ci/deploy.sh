#!/usr/bin/env bash
# `sam deploy` of template.yaml with the images and settings in the environment; what
# .github/workflows/deploy.yml runs to deploy and to roll back.  `deploy.sh output KEY` prints
# one output of the deployed stack (empty when the stack or the output does not exist).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${STACK_NAME:?}" "${AWS_REGION:?}"

output() {
  aws cloudformation describe-stacks --stack-name "$STACK_NAME" --region "$AWS_REGION" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text 2>/dev/null | sed 's/^None$//'
}
if [ "${1:-}" = output ]; then
  output "$2"
  exit
fi

: "${LAMBDA_IMAGE:?}" "${CFN_ROLE:?}"
: "${TEMPLATE_BUCKET:?is not set: the bucket for the template, output TemplateBucketName of the bootstrap stack (repository variable TEMPLATE_BUCKET)}"
params=(LambdaImageUri="$LAMBDA_IMAGE" ProvisionedConcurrency="${PROVISIONED_CONCURRENCY:-0}"
        EnableEcs="${ENABLE_ECS:-false}" EnableWaf="${ENABLE_WAF:-true}")
if [ -n "${DEPLOYMENT_TYPE:-}" ]; then params+=(DeploymentType="$DEPLOYMENT_TYPE"); fi
if [ "${ENABLE_ECS:-false}" = true ]; then
  : "${ECS_IMAGE:?}" "${VPC_ID:?}" "${ALB_SUBNET_IDS:?}" "${TASK_SUBNET_IDS:?}"
  params+=(EcsImageUri="$ECS_IMAGE" VpcId="$VPC_ID" AlbSubnetIds="$ALB_SUBNET_IDS" TaskSubnetIds="$TASK_SUBNET_IDS"
           EcsLaunchType="${ECS_LAUNCH_TYPE:-FARGATE}")
  if [ -n "${CERTIFICATE_ARN:-}" ]; then params+=(CertificateArn="$CERTIFICATE_ARN"); fi
fi

# --role-arn: CloudFormation creates the resources as the bootstrap's execution role, so the
# GitHub role itself cannot create or change anything but this stack's change sets.
# --image-repository only satisfies sam's check for image functions: the image is pushed already
# and its URI is a parameter, so no image is uploaded.
# --s3-bucket: the template itself goes to S3 and CloudFormation reads it from its TemplateURL:
# inline it may be at most 51,200 bytes and template.yaml is larger. --s3-prefix is the stack
# name, the one prefix the deploy role may write (.github/bootstrap.yaml, TemplateBucketWrite).
# TEMPLATE_FILE: template.yaml unless told otherwise (tests/deploy/test_deploy_pipeline.py passes
# it after the SAM transform, less the resource types moto cannot create).
sam deploy \
  --template-file "${TEMPLATE_FILE:-template.yaml}" \
  --stack-name "$STACK_NAME" \
  --region "$AWS_REGION" \
  --role-arn "$CFN_ROLE" \
  --s3-bucket "$TEMPLATE_BUCKET" \
  --s3-prefix "$STACK_NAME" \
  --image-repository "${LAMBDA_IMAGE%:*}" \
  --capabilities CAPABILITY_IAM \
  --no-confirm-changeset \
  --no-fail-on-empty-changeset \
  --tags "app=loan-risk" "commit=${TAG:-manual}" \
  --parameter-overrides "${params[@]}"
