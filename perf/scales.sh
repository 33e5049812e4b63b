#!/usr/bin/env bash
# scales.sh: every page at the `large` and the `xlarge` seed in one run. For
# each page, its limit (bare axum + sqlx + askama serving the page's rows from
# one index-served query, perf/ref-rust) on the same database; then app and
# limit at both scales, interleaved, `wrk -c32`. Prints per page and scale the
# req/s and p99 of both, their ratios, and large/xlarge of the app's req/s
# (the budget: at most 1.25); then the SQL statements each page runs (counted
# from PostgreSQL's log over 10 views), the server's resident memory after the
# load, and its start-up to /readyz.
#
# From the project root, after `cargo build --release`:
#   perf/scales.sh [page ...]
# Env: BIN (target/release/samleng), LARGE_DATA (/tmp/samleng-perf-data),
#   XLARGE_DATA (/tmp/samleng-perf-xlarge): data folders, seeded on first use
#   (the xlarge one takes about five minutes); WRK_DURATION (5s) ROUNDS (2)
#   WRK_CONNS (32) OUT_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$(realpath "${BIN:-target/release/samleng}")"
GAZETTEER="$here/../gazetteer"
WRK_DURATION="${WRK_DURATION:-5s}"
ROUNDS="${ROUNDS:-2}"
WRK_CONNS="${WRK_CONNS:-32}"
OUT_DIR="${OUT_DIR:-${TMPDIR:-/tmp}/samleng-scales}"
export CARGO_TARGET_DIR="${PERF_TARGET_DIR:-/tmp/perf-target}"
scales=(large xlarge)
declare -A data=([large]="${LARGE_DATA:-${TMPDIR:-/tmp}/samleng-perf-data}" [xlarge]="${XLARGE_DATA:-${TMPDIR:-/tmp}/samleng-perf-xlarge}")
declare -A port=([large]=18777 [xlarge]=18778)
declare -A ref_port=([large]=18081 [xlarge]=18083)
declare -A server cookie bearer db started_in
mkdir -p "$OUT_DIR"
unset DATABASE_URL
pids=()
trap 'for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
(cd "$here/ref-rust" && cargo build --release --quiet)
ref_bin="$CARGO_TARGET_DIR/release/perf-ref"

# Milliseconds since the epoch.
now() { date +%s%3N; }

ready() { # url
  for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "$1 not ready" >&2; return 1
}

start_app() { # scale
  local s=$1 d=${data[$1]} fresh=0
  if [ ! -d "$d/postgres" ]; then fresh=1; rm -rf "$d"; mkdir -p "$d"; chmod 777 "$d"; fi
  local begun; begun=$(now)
  (cd "$d" && SAMLENG_DATA_DIR="$d" SAMLENG_BIND="127.0.0.1:${port[$s]}" SAMLENG_API_BURST=1000000000 \
    exec "$BIN" serve --demo >"$d/server.log" 2>&1) &
  server[$s]=$!; pids+=($!)
  ready "http://127.0.0.1:${port[$s]}/readyz"
  started_in[$s]=$(( $(now) - begun ))
  if [ $fresh = 1 ]; then
    (cd "$d" && export SAMLENG_DATA_DIR="$d" &&
      "$BIN" import-gazetteer "$GAZETTEER"/provinces.csv "$GAZETTEER"/districts.csv "$GAZETTEER"/communes.csv "$GAZETTEER"/districts.geojson &&
      "$BIN" seed --scale "$s" &&
      printf 'perf secretariat password 42\n' | "$BIN" create-user --email perf@example.org --name Perf \
        --role secretariat --org CPDD --password-stdin >/dev/null)
  fi
  db[$s]=$(cd "$d" && SAMLENG_DATA_DIR="$d" "$BIN" database-url | tail -n 1)
  # The public pages at this scale: a rollout publishes its studies.
  sql "$s" "update studies set public_since = now() where title_en like 'Seed study %' and public_since is null"
  local session; session=$(python3 "$here/session.py" cookie "${port[$s]}" perf@example.org 'perf secretariat password 42')
  cookie[$s]="Cookie: $session"
  bearer[$s]="Authorization: Bearer $(python3 "$here/session.py" token "${port[$s]}" "$session")"
  # An import waiting for its confirmation, for its preview.
  if [ "$(sql "$s" "select count(*) from imports where file_name = 'perf.csv' and confirmed_at is null")" = 0 ]; then
    python3 "$here/session.py" import "${port[$s]}" "$session" "$(sql "$s" "select max(id) from studies where title_en like 'Seed study %'")" >/dev/null
  fi
}

sql() { psql "${db[$1]}" -Atqc "$2"; }

# The activities matching a search term, as the list shows them.
matching() {
  echo "select a.id::text as id, a.kind, a.held_on::text as held_on, d.name_en as district_en, a.place
    from activities a join districts d on d.code = a.district_code
    where a.id in (select s.id from activities s where s.summary ilike '%$1%' or s.place ilike '%$1%'
      union select f.activity_id from findings f where (f.text_en || ' ' || f.text_km || ' ' || f.quote) ilike '%$1%')
    order by a.held_on desc, a.id desc limit 51"
}

# A page: its URL (with {id} from its id query, if any) and its limit's SQL
# (text columns), as "url|id query|limit sql".
page() {
  local newest_in_02="select s.id from studies s where exists (select 1 from recommendation_lists l where l.study_id = s.id and l.status = 'endorsed' and l.district_code like '02%') order by s.period_start desc, s.id desc limit 1"
  local activities="select a.id::text as id, a.kind, a.held_on::text as held_on, d.name_en as district_en,
    d.name_km as district_km, a.place, o.name_en as facilitator from activities a
    join districts d on d.code = a.district_code join organizations o on o.id = a.facilitating_organization_id"
  case "$1" in
    # The secretariat's home: its worklist, four kinds of 20 (the same rows).
    home) echo "/||(select c.id::text as id, c.title_en, d.name_en as district_en from case_studies c join districts d on d.code = c.district_code where c.status = 'in_review' order by c.updated_at limit 20) union all (select l.id::text, s.title_en, d.name_en from recommendation_lists l join districts d on d.code = l.district_code join studies s on s.id = l.study_id where l.status in ('submitted', 'returned') order by l.updated_at limit 20) union all (select a.id::text, a.description_en, coalesce(d.name_en, '') from actions a join action_plans p on p.id = a.plan_id left join districts d on d.code = p.district_code where a.lead = 'joint' and a.current_update_id is not null and not a.current_confirmed order by a.reported_on limit 20) union all (select a.id::text, a.description_en, coalesce(d.name_en, '') from actions a join action_plans p on p.id = a.plan_id left join districts d on d.code = p.district_code where a.due_on < current_date and a.status not in ('completed', 'cancelled') order by a.due_on limit 20)" ;;
    notifications) echo "/notifications||select n.id::text as id, n.subject, n.created_at::text as created_at from notifications n where n.user_id = (select id from users where email = 'perf@example.org') order by n.created_at desc, n.id desc limit 100" ;;
    districts) echo "/districts||select d.code::text as code, d.name_en, d.name_km, d.province_code::text as province from districts d order by d.province_code, d.code" ;;
    district) echo "/districts/0203||select c.id::text as id, c.title_en, c.status from case_studies c where c.district_code = '0203' order by c.updated_at desc, c.id desc limit 50" ;;
    province) echo "/provinces/02||select d.code::text as code, d.name_en, d.name_km, d.type, (select count(*) from communes c where c.district_code = d.code)::text as communes from districts d where d.province_code = '02' order by d.code" ;;
    activities) echo "/activities||$activities order by a.held_on desc, a.id desc limit 51" ;;
    case-studies) echo "/case-studies||select c.id::text as id, c.title_en, c.title_km, d.name_en as district_en, o.name_en as author, c.status, c.updated_at::text as updated_at from case_studies c join districts d on d.code = c.district_code join organizations o on o.id = c.author_organization_id order by c.updated_at desc, c.id desc limit 51" ;;
    recommendation-lists) echo "/recommendation-lists||select l.id::text as id, d.name_en as district_en, l.status, l.list_version::text as version from recommendation_lists l join districts d on d.code = l.district_code order by l.id desc limit 51" ;;
    action-plans) echo "/action-plans||select p.id::text as id, p.title_en, p.period_start::text as period_start, p.period_end::text as period_end from action_plans p order by p.id desc limit 51" ;;
    case-study) echo "/case-studies/{id}|select max(id) from case_studies where title_en like 'Seed %' and status = 'published'|select a.id::text as id, a.kind, a.held_on::text as held_on, a.participants::text as participants from activities a where a.case_study_id = {id} order by a.held_on, a.id" ;;
    list) echo "/recommendation-lists/{id}|select max(id) from recommendation_lists where status = 'endorsed'|select r.id::text as id, r.position::text as position, r.text_en, r.addressee from recommendations r where r.list_id = {id} order by r.position" ;;
    plan) echo "/action-plans/{id}|select max(id) from action_plans where title_en like 'Seed plan %'|select a.id::text as id, a.description_en, a.status, a.progress::text as progress, a.due_on::text as due_on from actions a where a.plan_id = {id} order by a.id" ;;
    # The study's page lists its districts, each with its case study, list and plan.
    study) echo "/studies/{id}|select max(id) from studies where title_en like 'Seed study %'|select d.code::text as code, d.name_en, c.id::text as case_study, c.status, l.id::text as list, l.status as list_status from districts d left join case_studies c on c.district_code = d.code and c.study_id = {id} left join recommendation_lists l on l.district_code = d.code and l.study_id = {id} and l.status <> 'superseded' where c.id is not null or l.id is not null order by d.code" ;;
    # The comparison: two studies' figures, and the recurring themes by district.
    cycles) echo "/provinces/02/cycles||select d.code::text as code, d.name_en, t.name_en as theme, count(*)::text as recommendations from recommendation_lists l join districts d on d.code = l.district_code join recommendations r on r.list_id = l.id join themes t on t.id = r.theme_id where l.status = 'endorsed' and l.study_id in (select id from studies where province_code = '02' order by period_start desc, id desc limit 2) group by d.code, d.name_en, t.position, t.name_en order by d.code, t.position" ;;
    public) echo "/public||select c.id::text as id, c.title_en, c.published_at::text as published_at from case_studies c where c.status = 'published' order by c.updated_at desc, c.id desc limit 20" ;;
    public-study) echo "/public/studies/{id}|select max(id) from studies where title_en like 'Seed study %'|select c.id::text as id, c.district_code, c.title_en from case_studies c where c.study_id = {id} and c.status = 'published' order by c.district_code limit 50" ;;
    news) echo "/public/news||select e.id::text as id, e.title_en, e.starts_on::text as starts_on from events e order by e.starts_on desc, e.id desc limit 20" ;;
    api) echo "/api/v1/activities||select a.id::text as id, a.kind, a.held_on::text as held_on, left(a.district_code, 2) as province_code, a.district_code, a.commune_code, o.name_en as organization, a.study_id::text as study_id, a.case_study_id::text as case_study_id, a.participants::text as participants, a.participants_female::text as female, a.youth::text as youth, a.female_by_group::text as female_by_group, a.male_by_group::text as male_by_group from activities a join organizations o on o.id = a.facilitating_organization_id order by a.id limit 101" ;;
    export) echo "/exports/activities.csv?district=0203&study={id}|select max(id) from studies where title_en like 'Seed study %'|$activities where a.district_code = '0203' and a.study_id = {id} order by a.held_on desc, a.id desc" ;;
    # The export writes its audit entry on every download: this limit does too.
    export-audited) echo "/exports/activities.csv?district=0203&study={id}|select max(id) from studies where title_en like 'Seed study %'|with logged as (insert into audit_events (actor_id, action, entity, entity_id, summary) select min(id), 'exported', 'export', 'activities.csv', 'the limit of perf/scales.sh' from users returning 1) $activities where a.district_code = '0203' and a.study_id = {id} order by a.held_on desc, a.id desc" ;;
    dashboard) echo "/dashboard||select d.code::text as code, d.name_en, d.name_km, d.province_code::text as province from districts d order by d.name_en limit 50" ;;
    province-priorities) echo "/provinces/02/recommendations|$newest_in_02|select r.id::text as id, r.text_en, d.name_en as district_en from recommendation_lists l join districts d on d.code = l.district_code join recommendations r on r.list_id = l.id where l.status = 'endorsed' and l.study_id = {id} and d.province_code = '02' order by r.list_id, r.position limit 50" ;;
    national-priorities) echo "/recommendations/national||select r.id::text as id, r.text_en, d.name_en as district_en from recommendation_lists l join districts d on d.code = l.district_code join recommendations r on r.list_id = l.id where l.status = 'endorsed' and l.study_id = (select max(id) from studies) order by r.list_id, r.position limit 50" ;;
    # The printed report: every case study whole, then every endorsed recommendation.
    study-report) echo "/studies/{id}/print|select max(id) from studies where title_en like 'Seed study %'|(select c.district_code as district, c.title_en as text, c.summary as more from case_studies c where c.study_id = {id} and c.status = 'published' order by c.district_code) union all (select l.district_code, r.text_en, r.addressee from recommendation_lists l join recommendations r on r.list_id = l.id where l.study_id = {id} and l.status = 'endorsed' order by l.district_code, r.position)" ;;
    public-cycles) echo "/public/provinces/02/cycles||select s.id::text as id, s.title_en, s.period_start::text as period_start from studies s where s.public_since is not null and s.province_code = '02' order by s.period_start, s.id" ;;
    public-district) echo "/public/studies/{id}/districts/0203|select max(study_id) from case_studies where district_code = '0203' and status = 'published'|select f.id::text as id, f.text_en from findings f join activities a on a.id = f.activity_id where a.case_study_id = (select max(id) from case_studies where study_id = {id} and district_code = '0203' and status = 'published') and f.public order by f.id limit 50" ;;
    # The preview reads the kept file again and checks it: the limit reads the file.
    import-preview) echo "/activities/import/{id}|select max(id) from imports where file_name = 'perf.csv' and confirmed_at is null|select id::text as id, file_name, encode(content, 'escape') as content from imports where id = {id}" ;;
    # Searches, against the same matches read by literal SQL through the
    # trigram indexes: "4242" is rare; every seed finding holds "activity".
    search) echo "/activities?q=4242||$(matching 4242)" ;;
    search-shared) echo "/activities?q=activity+4242||$(matching 'activity 4242')" ;;
    *) echo "unknown page $1" >&2; return 1 ;;
  esac
}

pages=("$@")
[ ${#pages[@]} -gt 0 ] || pages=(home notifications dashboard districts district province province-priorities national-priorities activities case-studies recommendation-lists action-plans case-study list plan study study-report cycles public public-study public-district public-cycles news export export-audited import-preview search search-shared api)
# The API answers a token, the pages a session; the API's limit answers JSON.
credential() { if [ "$1" = api ]; then echo "${bearer[$2]}"; else echo "${cookie[$2]}"; fi; }
format() { if [ "$1" = api ]; then echo json; else echo html; fi; }

for s in "${scales[@]}"; do start_app "$s"; done

wrk_once() { # out url [header]
  local args=(-t2 -c"$WRK_CONNS" -d"$WRK_DURATION" --latency)
  [ -n "${3:-}" ] && args+=(-H "$3")
  wrk "${args[@]}" "$2" >"$1" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return substr(v, 1, length(v)-2) / 1000; if (v ~ /ms$/) return substr(v, 1, length(v)-2) + 0
                     if (v ~ /s$/) return substr(v, 1, length(v)-1) * 1000; return v + 0 }
    $1 == "99%" { p99 = ms($2) } /^Requests\/sec:/ { rps = $2 } /Non-2xx or 3xx/ { err += $NF }
    END { printf "%.1f %.2f %d\n", rps, p99, err }' "$1"
}

printf 'page\tscale\ttarget\tround\treq_s\tp99_ms\terrors\n' >"$OUT_DIR/runs.tsv"
declare -A url
for p in "${pages[@]}"; do
  spec=$(page "$p"); path=${spec%%|*}; rest=${spec#*|}; id_sql=${rest%%|*}; ref_sql=${rest#*|}
  refs=()
  for s in "${scales[@]}"; do
    id=""; [ -n "$id_sql" ] && id=$(sql "$s" "$id_sql")
    url[$s]="http://127.0.0.1:${port[$s]}${path//\{id\}/$id}"
    "$ref_bin" --database-url "${db[$s]}" --bind "127.0.0.1:${ref_port[$s]}" --sql "${ref_sql//\{id\}/$id}" --pool 8 --format "$(format "$p")" \
      >"$OUT_DIR/ref-$p-$s.log" 2>&1 &
    refs+=($!)
    ready "http://127.0.0.1:${ref_port[$s]}/healthz"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "$(credential "$p" "$s")" "${url[$s]}")
    [ "$code" = 200 ] || { echo "$p at $s: ${url[$s]} answered $code" >&2; exit 1; }
    wrk -t2 -c"$WRK_CONNS" -d1s -H "$(credential "$p" "$s")" "${url[$s]}" >/dev/null 2>&1
    wrk -t2 -c"$WRK_CONNS" -d1s "http://127.0.0.1:${ref_port[$s]}/" >/dev/null 2>&1
  done
  for r in $(seq 1 "$ROUNDS"); do
    for s in "${scales[@]}"; do
      printf '%s\t%s\tapp\t%s\t%s\n' "$p" "$s" "$r" "$(wrk_once "$OUT_DIR/wrk-$p-$s-app-$r.txt" "${url[$s]}" "$(credential "$p" "$s")" | tr ' ' '\t')" >>"$OUT_DIR/runs.tsv"
      printf '%s\t%s\tlimit\t%s\t%s\n' "$p" "$s" "$r" "$(wrk_once "$OUT_DIR/wrk-$p-$s-limit-$r.txt" "http://127.0.0.1:${ref_port[$s]}/" | tr ' ' '\t')" >>"$OUT_DIR/runs.tsv"
    done
  done
  kill "${refs[@]}" 2>/dev/null || true; wait "${refs[@]}" 2>/dev/null || true
done

# Statements per view: PostgreSQL logs every statement for 10 views of each
# page (after one view that may fill what the app keeps); the listener's own
# pings are left out.
printf 'page\tscale\tstatements_per_view\n' >"$OUT_DIR/statements.tsv"
for s in "${scales[@]}"; do
  log="${data[$s]}/postgres/server.log"
  for p in "${pages[@]}"; do
    spec=$(page "$p"); path=${spec%%|*}; rest=${spec#*|}; id_sql=${rest%%|*}
    id=""; [ -n "$id_sql" ] && id=$(sql "$s" "$id_sql")
    u="http://127.0.0.1:${port[$s]}${path//\{id\}/$id}"
    curl -s -o /dev/null -H "$(credential "$p" "$s")" "$u"
    # Each backend reads the setting again before its next statement.
    sql "$s" "alter system set log_statement = 'all'" && sql "$s" "select pg_reload_conf()" >/dev/null
    before=$(wc -l <"$log")
    for _ in $(seq 1 10); do curl -s -o /dev/null -H "$(credential "$p" "$s")" "$u"; done
    sql "$s" "alter system reset log_statement" && sql "$s" "select pg_reload_conf()" >/dev/null
    # (grep finds nothing for a page served from memory.)
    n=$(tail -n +"$((before + 1))" "$log" | { grep -E 'LOG:  (statement|execute [^:]*):' || true; } \
        | { grep -v -E "pg_notify\('samleng_auth', 'ping|log_statement|pg_reload_conf" || true; } | wc -l)
    printf '%s\t%s\t%s\n' "$p" "$s" "$(awk -v n="$n" 'BEGIN { printf "%.1f", n / 10 }')" >>"$OUT_DIR/statements.tsv"
  done
done

echo "start-up to /readyz: large ${started_in[large]} ms, xlarge ${started_in[xlarge]} ms"
for s in "${scales[@]}"; do
  echo "resident memory after the load, $s: $(awk '/VmRSS/ { print $2, $3 }' "/proc/${server[$s]}/status")"
done
awk -F'\t' '
  NR == FNR { if (FNR > 1) statements[$1 "|" $2] = $3; next }
  FNR == 1 { next }
  { k = $1 "|" $2 "|" $3; rps[k] += $5; p99[k] += $6; n[k]++; err[k] += $7; if (!seen[$1]++) order[++pages] = $1 }
  END {
    printf "\n| page | scale | app req/s | limit req/s | app/limit | app p99 | limit p99 | p99 ratio | statements | large/xlarge |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|\n"
    for (i = 1; i <= pages; i++) {
      p = order[i]
      for (j = 1; j <= 2; j++) {
        s = j == 1 ? "large" : "xlarge"; a = p "|" s "|app"; l = p "|" s "|limit"
        ar = rps[a] / n[a]; lr = rps[l] / n[l]; ap = p99[a] / n[a]; lp = p99[l] / n[l]
        flat = j == 2 ? sprintf("%.2f", (rps[p "|large|app"] / n[p "|large|app"]) / ar) : ""
        printf "| %s | %s | %.0f | %.0f | %.2f | %.2f ms | %.2f ms | %.2f | %s | %s |%s\n", p, s, ar, lr, ar / lr, ap, lp, ap / lp,
          statements[p "|" s], flat, (err[a] + err[l] > 0 ? " errors!" : "")
      }
    }
  }' "$OUT_DIR/statements.tsv" "$OUT_DIR/runs.tsv" | tee "$OUT_DIR/summary.md"
