#!/usr/bin/env bash
# The build half of an app pipeline (the article's ci/build.sh, fixed).
#
# ci/buildspec.yaml calls one function per phase:
#   . ci/build.sh && prebuild    log docker in to the service's ECR registry
#   . ci/build.sh && build       docker build $CODEBUILD_SRC_DIR_AppOut/$MODULE_PATH,
#                                tagged sha-<short commit> and <sanitised branch>
#   . ci/build.sh && postbuild   push both tags, write the parameter file
#   . ci/build.sh && image_uri   print the image the parameter file names
# or run it directly: bash ci/build.sh <prebuild|build|postbuild|image_uri>.
#
# Every function runs in its own subshell with `set -euo pipefail`, so
# sourcing this file never changes CodeBuild's shell, and any failing command
# fails the phase with a message that says what to fix.
#
# Environment (the pipeline's Build action and the CodeBuild project set it):
#   SERVICE_NAME, APP_ENV, LANE, BRANCH, APP_COMMIT (the AppSource commit id),
#   ECR_REPO_URI, MODULE_PATH (default .), DOCKERFILE (default Dockerfile),
#   PARAMS_FILE (default cfn-params.json), CODEBUILD_SRC_DIR(_AppOut),
#   SERVICE (optional: the SERVICE pipeline variable; must equal SERVICE_NAME).

_die() {
  echo "build.sh: error: $*" >&2
  exit 1
}

_need() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || _die "environment variable $name is not set (the pipeline's Build action or the CodeBuild project sets it)"
  done
}

_check_lane() {
  _need LANE
  [[ "$LANE" =~ ^[a-z][a-z0-9-]*[a-z0-9]$ ]] && [ "${#LANE}" -le 40 ] ||
    _die "LANE '$LANE' is not a lane name: use lower-case letters, digits and hyphens, e.g. gray (at most 40 characters)"
}

_check_service() {
  _need SERVICE_NAME
  # One pipeline per service: the SERVICE variable may only restate it.
  if [ -n "${SERVICE:-}" ] && [ "$SERVICE" != "$SERVICE_NAME" ]; then
    _die "pipeline variable SERVICE=$SERVICE does not match this pipeline's service $SERVICE_NAME; start the $SERVICE pipeline instead"
  fi
}

_short_commit() {
  _need APP_COMMIT
  [[ "$APP_COMMIT" =~ ^[0-9a-f]{7,40}$ ]] || _die "APP_COMMIT '$APP_COMMIT' is not a git commit id"
  printf '%s' "${APP_COMMIT:0:7}"
}

# A docker tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: release/1.2.3 -> release-1.2.3.
_branch_tag() {
  _need BRANCH
  local tag
  tag="$(printf '%s' "$BRANCH" | sed -e 's/[^A-Za-z0-9_.-]/-/g' -e 's/^[.-]*//' | cut -c1-128)"
  [ -n "$tag" ] || _die "BRANCH '$BRANCH' leaves no usable docker tag after sanitising"
  printf '%s' "$tag"
}

_registry() {
  _need ECR_REPO_URI
  printf '%s' "${ECR_REPO_URI%%/*}"
}

image_uri() (
  set -euo pipefail
  _need ECR_REPO_URI
  local sha
  sha="$(_short_commit)"
  printf '%s:sha-%s\n' "$ECR_REPO_URI" "$sha"
)

prebuild() (
  set -euo pipefail
  _check_service
  _check_lane
  _need ECR_REPO_URI
  local region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
  [ -n "$region" ] || _die "AWS_REGION is not set (CodeBuild sets it; export it when running locally)"
  local registry
  registry="$(_registry)"
  echo "build.sh: logging in to $registry"
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry" ||
    _die "docker login to $registry failed; check the build role's ecr:GetAuthorizationToken permission"
)

build() (
  set -euo pipefail
  _check_service
  _need CODEBUILD_SRC_DIR_AppOut ECR_REPO_URI
  local context="$CODEBUILD_SRC_DIR_AppOut/${MODULE_PATH:-.}"
  local dockerfile="$context/${DOCKERFILE:-Dockerfile}"
  [ -d "$context" ] || _die "module path '${MODULE_PATH:-.}' does not exist in the app repository (params app.modulePath)"
  [ -f "$dockerfile" ] || _die "no ${DOCKERFILE:-Dockerfile} in '${MODULE_PATH:-.}' of the app repository (params app.dockerfile)"
  local sha branch
  sha="$(_short_commit)"
  branch="$(_branch_tag)"
  echo "build.sh: building $SERVICE_NAME at ${APP_COMMIT} from $context"
  docker build \
    --file "$dockerfile" \
    --tag "$ECR_REPO_URI:sha-$sha" \
    --tag "$ECR_REPO_URI:$branch" \
    --label "org.opencontainers.image.revision=$APP_COMMIT" \
    --label "multilane.service=$SERVICE_NAME" \
    "$context" ||
    _die "docker build of $SERVICE_NAME failed (see the docker output above); nothing was pushed"
)

postbuild() (
  set -euo pipefail
  # CodeBuild runs post_build even when build failed: never push then.
  [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" = "1" ] || _die "the build phase failed; not pushing an image or writing ${PARAMS_FILE:-cfn-params.json}"
  _check_service
  _check_lane
  _need APP_ENV CODEBUILD_SRC_DIR ECR_REPO_URI
  local sha branch image out
  sha="$(_short_commit)"
  branch="$(_branch_tag)"
  image="$ECR_REPO_URI:sha-$sha"
  docker push "$ECR_REPO_URI:sha-$sha" || _die "docker push of $image failed"
  docker push "$ECR_REPO_URI:$branch" || _die "docker push of $ECR_REPO_URI:$branch failed"
  out="$CODEBUILD_SRC_DIR/${PARAMS_FILE:-cfn-params.json}"
  # The article's `echo "{"Parameters":...}"` lost its inner quotes and wrote
  # invalid JSON; a JSON encoder cannot.
  SERVICE_NAME="$SERVICE_NAME" APP_ENV="$APP_ENV" LANE="$LANE" IMAGE_URI="$image" python3 -c '
import json, os, sys
params = {
    "ServiceName": os.environ["SERVICE_NAME"],
    "Env": os.environ["APP_ENV"],
    "Lane": os.environ["LANE"],
    "ImageUri": os.environ["IMAGE_URI"],
}
with open(sys.argv[1], "w") as f:
    json.dump({"Parameters": params}, f, indent=2)
    f.write("\n")
' "$out" || _die "could not write $out"
  echo "build.sh: pushed $image; wrote $out"
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    prebuild | build | postbuild | image_uri) "$1" ;;
    *) _die "usage: bash ci/build.sh <prebuild|build|postbuild|image_uri>" ;;
  esac
fi
