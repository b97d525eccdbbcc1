#!/bin/sh
# The container's start (Dockerfile ENTRYPOINT; its CMD is `newsdesk serve`).
# On the first start, when the data folder ($NEWSDESK_DATA_DIR, the /data volume) is empty,
# index the seed articles shipped beside this script; then run the command given (exec, so
# it gets the container's signals). A start interrupted while indexing leaves `.seeding`
# behind and is finished by the next one (ingest skips what is already indexed). A data
# folder that already holds an index, or anything else, is never touched. With the index in
# PostgreSQL ($NEWSDESK_DATABASE_URL), the database is what is asked: the seeds go into it
# while it holds no article (one transaction: an interrupted start left nothing), never after.
set -eu

data="${NEWSDESK_DATA_DIR:-data}"
seeds="$(dirname "$0")/seeds"

if [ "$#" -eq 0 ]; then
    set -- newsdesk serve
fi

# Empty, or missing: nothing in it but perhaps a filesystem's lost+found.
is_empty() {
    for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        if [ -e "$entry" ] && [ "${entry##*/}" != lost+found ]; then
            return 1
        fi
    done
}

if [ -n "${NEWSDESK_DATABASE_URL:-}" ]; then
    newsdesk ingest -q --if-empty "$seeds"
elif is_empty "$data" || [ -e "$data/.seeding" ]; then
    echo "newsdesk: first start: indexing the seed articles in $seeds into $data"
    mkdir -p "$data"
    : > "$data/.seeding"
    newsdesk ingest -q "$seeds"
    rm -f "$data/.seeding"
else
    echo "newsdesk: $data already holds an index: not indexing the seeds"
fi

exec "$@"
