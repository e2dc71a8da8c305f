#!/usr/bin/env bash
# Updates the site on its server to a commit of its git repository (docs/deploy.md):
#
#   sudo -u courses -H /srv/courses/current/scripts/deploy.sh [ref]     # default: the default branch
#   sudo -u courses -H REPO_URL=<git url> ./scripts/deploy.sh            # the first time, from a clone
#
# 1. fetch the repository into $COURSES_ROOT/repo.git and export the commit into
#    $COURSES_ROOT/releases/<UTC time>-<commit>
# 2. install the locked dependencies and build (SITE_URL and the rest from $ENV_FILE)
# 3. back up the store, migrate it, and load the build's paid lessons into it (content sync)
# 4. point $COURSES_ROOT/current at the new release, restart the service, and wait for /healthz
# 5. if it does not become healthy: point current back at the previous release, load its lessons
#    again, restart, and exit 1. Migrations only ever add (tables, columns, indexes), and a build
#    accepts a store with more migrations than it knows, so the previous build runs on the store
#    the new one migrated. Anything before step 4 that fails leaves the running site untouched.
#
# Run it as the user that owns $COURSES_ROOT (the service's user), never as root.
# Everything machine-specific can be overridden by the environment (the tests run it in a
# temporary folder with a local repository and their own restart and health check):
#   COURSES_ROOT (/srv/courses)   REPO_URL (first run; later: updates the remote)
#   ENV_FILE (/etc/courses/env)   BACKUP_DIR (/var/lib/courses/backups)   KEEP_BACKUPS (10)
#   RESTART_CMD (sudo -n systemctl restart courses)   HEALTH_URL (http://HOST:PORT/healthz)
#   HEALTH_TIMEOUT seconds (30)   KEEP_RELEASES (5)   CADDYFILE (/etc/caddy/Caddyfile)
#   NODE_MODULES_FROM: link this node_modules folder instead of installing (tests only)
set -euo pipefail
umask 077

COURSES_ROOT=${COURSES_ROOT:-/srv/courses}
REPO_URL=${REPO_URL:-}
ENV_FILE=${ENV_FILE:-/etc/courses/env}
BACKUP_DIR=${BACKUP_DIR:-/var/lib/courses/backups}
KEEP_BACKUPS=${KEEP_BACKUPS:-10}
RESTART_CMD=${RESTART_CMD:-sudo -n systemctl restart courses}
HEALTH_URL=${HEALTH_URL:-}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-30}
KEEP_RELEASES=${KEEP_RELEASES:-5}
CADDYFILE=${CADDYFILE:-/etc/caddy/Caddyfile}
NODE_MODULES_FROM=${NODE_MODULES_FROM:-}
REF=${1:-HEAD}

log() { printf 'deploy: %s\n' "$*"; }
die() { printf 'deploy: ERROR: %s\n' "$*" >&2; exit 1; }

[ -d "$COURSES_ROOT" ] || die "$COURSES_ROOT does not exist (docs/deploy.md, first install)"
[ "$(stat -c %u "$COURSES_ROOT")" = "$(id -u)" ] ||
  die "run this as the owner of $COURSES_ROOT, e.g. sudo -u $(stat -c %U "$COURSES_ROOT") -H $0"
cd "$COURSES_ROOT"
mkdir -p releases
chmod 755 releases   # Caddy (another user) reads current/dist/client through it

exec 9>.deploy.lock
flock -n 9 || die "another deploy is running"

# 1. The commit, exported into a fresh release folder.
if [ ! -d repo.git ]; then
  [ -n "$REPO_URL" ] || die "first deploy: set REPO_URL to the repository to deploy"
  log "cloning $REPO_URL"
  git clone --quiet --bare "$REPO_URL" repo.git
elif [ -n "$REPO_URL" ]; then
  git -C repo.git remote set-url origin "$REPO_URL"
fi
git -C repo.git fetch --quiet --prune --tags origin '+refs/heads/*:refs/heads/*'
commit=$(git -C repo.git rev-parse --verify --quiet "$REF^{commit}") || die "no commit named $REF in the repository"

previous=""
if [ -L current ]; then previous=$(basename "$(readlink current)"); fi
id="$(date -u +%Y%m%d-%H%M%S)-${commit:0:10}"
release="$COURSES_ROOT/releases/$id"
[ ! -e "$release" ] || die "$release already exists"
log "release $id ($(git -C repo.git log -1 --format='%h %s' "$commit"))${previous:+, replacing $previous}"
mkdir "$release"
git -C repo.git archive "$commit" | tar -x --no-same-permissions -C "$release"
printf '%s\n' "$commit" >"$release/REVISION"
cd "$release"

# 2. Dependencies and build.
if [ -n "$NODE_MODULES_FROM" ]; then
  ln -s "$NODE_MODULES_FROM" node_modules
else
  log "installing dependencies"
  # Not `npm ci`: it refuses the lock file npm writes on Linux (which leaves out other platforms'
  # optional packages, then reports them missing). `npm install --no-save` installs exactly the
  # locked versions and writes nothing. The build and the server need the devDependencies (Node 24
  # comes from the `node` package), whatever NODE_ENV says.
  npm install --no-save --no-audit --no-fund --include=dev --loglevel=error
fi
NODE="$release/node_modules/.bin/node"
[ -x "$NODE" ] || die "no Node in node_modules/.bin/node"

[ -r "$ENV_FILE" ] || die "cannot read the settings in $ENV_FILE"
# The settings, read as the server reads a .env file (node:util parseEnv), exported for the build
# (SITE_URL) and the store commands.
eval "$("$NODE" - "$ENV_FILE" <<'JS'
const { parseEnv } = require('node:util');
const settings = parseEnv(require('node:fs').readFileSync(process.argv[2], 'utf8'));
for (const [name, value] of Object.entries(settings)) {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) console.log(`export ${name}='${value.replaceAll("'", "'\\''")}'`);
}
JS
)"
export NODE_ENV=${NODE_ENV:-production}
HEALTH_URL=${HEALTH_URL:-http://${HOST:-127.0.0.1}:${PORT:-4321}/healthz}

log "building"
npm run --silent build >build.log 2>&1 || { tail -n 40 build.log >&2; die "the build failed (releases/$id/build.log); the site is unchanged"; }
# Only the public build is for Caddy; the paid lessons (courses/, dist/private) stay private.
chmod o+x "$release" "$release/dist"
chmod -R o+rX "$release/dist/client"
# `npm run admin -- ...` in /srv/courses/current finds the settings without being told.
ln -s "$ENV_FILE" .env

# 3. The store: backup, migrations, content.
store_file=$("$NODE" --input-type=module -e '
  import { storeFilePath } from "./src/node/store.ts";
  console.log(storeFilePath(process.env.DATABASE_URL ?? "file:data/app.db") ?? "");')
if [ -z "$store_file" ]; then
  log "the store is a libSQL server, not a file here: back it up by its own means"
elif [ ! -f "$store_file" ]; then
  log "no store at $store_file yet: nothing to back up"
else
  mkdir -p "$BACKUP_DIR"
  backup="$BACKUP_DIR/app-$id.db"
  log "backing up the store to $backup"
  # With the tools of the release that runs on the store now: the new release's would refuse a
  # store that still lacks its migrations.
  running="$COURSES_ROOT/releases/$previous"
  if [ -n "$previous" ] && [ -f "$running/package.json" ] &&
    "$NODE" -e 'process.exit(require(process.argv[1]).scripts?.admin ? 0 : 1)' "$running/package.json"; then
    (cd "$running" && npm run --silent admin -- backup "$backup") || die "the backup failed; the site is unchanged"
  else
    # An online, consistent copy: SQLite's VACUUM INTO, through the project's libSQL client.
    "$NODE" --input-type=module -e '
      import { createClient } from "@libsql/client";
      const client = createClient({ url: `file:${process.argv[1]}` });
      await client.execute({ sql: "VACUUM INTO ?", args: [process.argv[2]] });
      client.close();' "$store_file" "$backup" || die "the backup failed; the site is unchanged"
  fi
  [ -s "$backup" ] || die "the backup $backup was not written; the site is unchanged"
  # shellcheck disable=SC2012 # names are ours: app-<time>-<commit>.db
  ls -1 "$BACKUP_DIR" | grep -E '^app-[0-9]{8}-[0-9]{6}-[0-9a-f]+\.db$' | sort | head -n "-$KEEP_BACKUPS" |
    while read -r old; do rm -f -- "$BACKUP_DIR/$old"; done
fi
npm run --silent db:migrate || die "the migration failed; restore $BACKUP_DIR/app-$id.db if it left the store unusable"
npm run --silent content:sync || die "the content sync failed; the site still runs ${previous:-nothing}"

# 4. Switch, restart, check.
switch_to() {
  ln -sfn "releases/$1" "$COURSES_ROOT/.current.new"
  mv -Tf "$COURSES_ROOT/.current.new" "$COURSES_ROOT/current"   # a rename: never a moment without current
}
healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  until "$NODE" -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(5000) })
      .then((response) => process.exit(response.status === 200 ? 0 : 1), () => process.exit(1));' "$HEALTH_URL"; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 1
  done
}
# The lock is this script's alone: a server the restart command starts must not inherit it.
restart() { log "restarting: $RESTART_CMD"; bash -c "$RESTART_CMD" 9>&-; }

switch_to "$id"
if restart && healthy; then
  log "deployed $id: $HEALTH_URL answers 200"
else
  log "release $id is not healthy within ${HEALTH_TIMEOUT}s ($HEALTH_URL); see journalctl -u courses"
  [ -n "$previous" ] || die "there is no previous release to go back to"
  log "rolling back to $previous"
  switch_to "$previous"
  (cd "$COURSES_ROOT/releases/$previous" && npm run --silent content:sync) || log "warning: the content sync of $previous failed"
  if restart && healthy; then
    die "rolled back to $previous, which is healthy; the failed release stays in releases/$id"
  fi
  die "the previous release $previous is not healthy either: the site is down (journalctl -u courses)"
fi

# 5. Tidy: the newest releases stay for rollbacks (current and the one it replaced always).
# shellcheck disable=SC2012 # names are ours: <time>-<commit>
ls -1 "$COURSES_ROOT/releases" | sort | head -n "-$KEEP_RELEASES" | while read -r old; do
  if [ "$old" != "$id" ] && [ "$old" != "$previous" ]; then rm -rf -- "${COURSES_ROOT:?}/releases/$old"; fi
done
if [ -r "$CADDYFILE" ] && ! cmp -s "$CADDYFILE" "$release/deploy/Caddyfile"; then
  log "note: deploy/Caddyfile differs from $CADDYFILE; to use it: cp it there and systemctl reload caddy"
fi
