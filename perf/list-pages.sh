#!/usr/bin/env bash
# list-pages.sh: start the release build on the large seed, sign a secretariat
# user in, and run compare.sh on each list page against the two references
# (ref-rust: the limit of this stack; ref-django) serving the same page's rows
# from one index-served query on the same database, in the same run.
#
# From the project root, after `cargo build --release`:
#   perf/list-pages.sh [page ...]
# Env: BIN (target/release/samleng) PERF_DATA (kept between runs; delete it to
#   reseed) APP_PORT (18777) OUT_BASE, plus compare.sh's (WRK_DURATION, ROUNDS...).
#
# Pages: case-studies activities recommendation-lists action-plans (default all),
# and api-activities: GET /api/v1/activities with a secretariat's token, against
# the same rows as JSON from bare axum + sqlx and from a Django REST Framework
# view (the server runs with SAMLENG_API_BURST high enough not to refuse wrk).
# Leaves the server running when KEEP=1 (prints its PID); otherwise stops it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$(realpath "${BIN:-target/release/samleng}")"
D="${PERF_DATA:-${TMPDIR:-/tmp}/samleng-perf-data}"
PORT="${APP_PORT:-18777}"
SHARED="$here/../gazetteer"
pages=("$@"); [ ${#pages[@]} -gt 0 ] || pages=(case-studies activities recommendation-lists action-plans)
mkdir -p "${OUT_BASE:-${TMPDIR:-/tmp}/samleng-perf-out}"
export SAMLENG_DATA_DIR="$D" SAMLENG_BIND="127.0.0.1:$PORT" SAMLENG_API_BURST=1000000000
unset DATABASE_URL

fresh=0
if [ ! -d "$D/postgres" ]; then fresh=1; rm -rf "$D"; mkdir -p "$D"; chmod 777 "$D"; fi
cd "$D"
"$BIN" serve --demo >"$D/server.log" 2>&1 &
srv=$!
trap '[ "${KEEP:-0}" = 1 ] || { kill -INT $srv 2>/dev/null; wait $srv 2>/dev/null; }' EXIT
for i in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break; sleep 0.5; done
if [ $fresh = 1 ]; then
  "$BIN" import-gazetteer "$SHARED"/provinces.csv "$SHARED"/districts.csv "$SHARED"/communes.csv "$SHARED"/districts.geojson
  "$BIN" seed --scale large
  printf 'perf secretariat password 42\n' | "$BIN" create-user --email perf@example.org --name Perf --role secretariat --org CPDD --password-stdin >/dev/null
fi
cookie=$(python3 "$here/session.py" cookie "$PORT" perf@example.org 'perf secretariat password 42')
# A read token of the same user, made on /account/tokens as a person would.
token=$(python3 "$here/session.py" token "$PORT" "$cookie")
db=$("$BIN" database-url | tail -n 1)
# The limit page reads its rows through an index, as the best version of each page would.
psql "$db" -qc "create index if not exists perf_ref_case_studies on case_studies (updated_at desc, id desc)" >/dev/null 2>&1 \
  || /usr/lib/postgresql/*/bin/psql "$db" -qc "create index if not exists perf_ref_case_studies on case_studies (updated_at desc, id desc)" >/dev/null
echo "cookie: ${cookie:0:24}…  db: $db" >&2

sql_for() {
  case "$1" in
    case-studies) echo "select c.id::text as id, c.title_en, c.title_km, d.name_en as district_en, d.name_km as district_km, o.name_en as author, c.status, c.updated_at::text as updated_at from case_studies c join districts d on d.code = c.district_code join organizations o on o.id = c.author_organization_id order by c.updated_at desc, c.id desc limit 51" ;;
    activities) echo "select a.id::text as id, a.kind, a.held_on::text as held_on, d.name_en as district_en, d.name_km as district_km, a.place, o.name_en as facilitator from activities a join districts d on d.code = a.district_code join organizations o on o.id = a.facilitating_organization_id order by a.held_on desc, a.id desc limit 51" ;;
    recommendation-lists) echo "select l.id::text as id, d.name_en as district_en, d.name_km as district_km, l.status, l.list_version::text as version from recommendation_lists l join districts d on d.code = l.district_code order by l.id desc limit 51" ;;
    action-plans) echo "select p.id::text as id, p.title_en, p.title_km, p.period_start::text as period_start, p.period_end::text as period_end from action_plans p order by p.id desc limit 51" ;;
    api-activities) echo "select a.id::text as id, a.kind, a.held_on::text as held_on, d.province_code, a.district_code, a.commune_code, o.name_en as organization, a.study_id::text as study_id, a.case_study_id::text as case_study_id, a.participants::text as participants, a.participants_female::text as female, (a.participants - a.participants_female)::text as male, a.youth::text as youth, a.persons_with_disabilities::text as persons_with_disabilities, a.female_by_group::text as female_by_group, a.male_by_group::text as male_by_group from activities a join districts d on d.code = a.district_code join organizations o on o.id = a.facilitating_organization_id order by a.id limit 101" ;;
  esac
}
for p in "${pages[@]}"; do
  echo "=== /$p" >&2
  url="http://127.0.0.1:$PORT/$p" app_cookie="$cookie" header="" format=html
  if [ "$p" = api-activities ]; then
    url="http://127.0.0.1:$PORT/api/v1/activities" app_cookie="" header="Authorization: Bearer $token" format=json
  fi
  APP_URL="$url" APP_COOKIE="$app_cookie" APP_HEADER="$header" REF_FORMAT="$format" REF_DATABASE_URL="$db" REF_SQL="$(sql_for "$p")" \
    OUT_DIR="${OUT_BASE:-${TMPDIR:-/tmp}/samleng-perf-out}/$p" "$here/compare.sh" 2>>"${OUT_BASE:-${TMPDIR:-/tmp}/samleng-perf-out}/compare.log" | tail -n 12
done
