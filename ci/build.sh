#!/usr/bin/env bash
# The build half of an app pipeline (the article's ci/build.sh, fixed).
#
# ci/buildspec.yaml calls one function per phase:
#   . ci/build.sh && prebuild    log docker in to the service's ECR registry
#   . ci/build.sh && build       docker build $CODEBUILD_SRC_DIR_AppOut/$MODULE_PATH,
#                                tagged sha-<short commit>-b<CodeBuild build number>
#   . ci/build.sh && postbuild   push that tag, write the parameter file
#   . ci/build.sh && image_uri   print the image the parameter file names
#
# The service's ECR repository has IMMUTABLE tags (components/boot.py): a tag
# can be pushed once. So every build pushes exactly one tag that no other
# build uses (commit + CODEBUILD_BUILD_NUMBER, which CodeBuild increments per
# project), and lanes deploy that tag. A moving tag (a branch name, latest)
# would fail the second build of a branch with ImageTagAlreadyExistsException.
# or run it directly: bash ci/build.sh <prebuild|build|postbuild|image_uri>.
#
# Every function runs in its own subshell with `set -euo pipefail`, so
# sourcing this file never changes CodeBuild's shell, and any failing command
# fails the phase with a message that says what to fix.
#
# Environment (the pipeline's Build action and the CodeBuild project set it):
#   SERVICE_NAME, APP_ENV, LANE, APP_COMMIT (the AppSource commit id),
#   CODEBUILD_BUILD_NUMBER (CodeBuild sets it), APP_BRANCH (optional: the
#   branch AppSource fetched, recorded as an image label),
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

# The one tag of this build: sha-<7-char commit>-b<build number>. Unique per
# build of the project, so an immutable repository accepts it.
_image_tag() {
  _need CODEBUILD_BUILD_NUMBER
  [[ "$CODEBUILD_BUILD_NUMBER" =~ ^[0-9]+$ ]] || _die "CODEBUILD_BUILD_NUMBER '$CODEBUILD_BUILD_NUMBER' is not a build number"
  local sha
  # A command substitution does not inherit `set -e`: stop explicitly.
  sha="$(_short_commit)" || exit 1
  printf 'sha-%s-b%s' "$sha" "$CODEBUILD_BUILD_NUMBER"
}

_registry() {
  _need ECR_REPO_URI
  printf '%s' "${ECR_REPO_URI%%/*}"
}

image_uri() (
  set -euo pipefail
  _need ECR_REPO_URI
  local tag
  tag="$(_image_tag)"
  printf '%s:%s\n' "$ECR_REPO_URI" "$tag"
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
  local tag
  tag="$(_image_tag)"
  echo "build.sh: building $SERVICE_NAME at ${APP_COMMIT} from $context"
  docker build \
    --file "$dockerfile" \
    --tag "$ECR_REPO_URI:$tag" \
    --label "org.opencontainers.image.revision=$APP_COMMIT" \
    --label "org.opencontainers.image.ref.name=${APP_BRANCH:-}" \
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
  local tag image out
  tag="$(_image_tag)"
  image="$ECR_REPO_URI:$tag"
  docker push "$image" || _die "docker push of $image failed (the repository's tags are immutable: a tag is pushed once)"
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
