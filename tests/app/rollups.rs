//! Roll-ups kept by the writes that change them (migrations 0009, 0010):
//! whatever writes participant counts, recommendations, priorities, actions or
//! progress reports, the kept totals equal the aggregates computed afresh.

use sqlx::PgPool;

use crate::helpers::spawn_app;

/// Rows whose kept roll-up differs from the aggregate, over all the tables.
async fn mismatches(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select
           (select count(*) from activities a
            left join (select activity_id, sum(count) as total,
                              coalesce(sum(count) filter (where sex = 'female'), 0) as female
                       from participant_counts group by activity_id) t on t.activity_id = a.id
            where a.participants <> coalesce(t.total, 0) or a.participants_female <> coalesce(t.female, 0))
         + (select count(*) from activities a
            cross join unnest(participant_groups()) with ordinality g(name, i)
            where a.female_by_group[g.i] <> (select coalesce(sum(count), 0) from participant_counts p
                   where p.activity_id = a.id and p.participant_group = g.name and p.sex = 'female')
               or a.male_by_group[g.i] <> (select coalesce(sum(count), 0) from participant_counts p
                   where p.activity_id = a.id and p.participant_group = g.name and p.sex = 'male'))
         + (select count(*) from recommendation_lists l
            where l.recommendation_count <> (select count(*) from recommendations r where r.list_id = l.id)
               or l.prioritized_count <> (select count(*) from recommendations r where r.list_id = l.id
                   and exists (select 1 from priorities p where p.recommendation_id = r.id)))
         + (select count(*) from (
                (select list_id, theme_id, recommendations from list_theme_counts
                 except select list_id, theme_id, count(*)::int from recommendations group by 1, 2)
                union all
                (select list_id, theme_id, count(*)::int from recommendations group by 1, 2
                 except select list_id, theme_id, recommendations from list_theme_counts)) d)
         + (select count(*) from action_plans p
            left join lateral (
                select count(*) as actions,
                       coalesce(round(avg(a.progress) filter (where a.status <> 'cancelled')), 0) as progress,
                       coalesce(array_agg(a.due_on order by a.due_on)
                                filter (where a.status not in ('completed', 'cancelled')), '{}') as due,
                       count(*) filter (where a.status = 'completed') as completed,
                       count(*) filter (where a.status = 'cancelled') as cancelled,
                       coalesce(sum(a.progress) filter (where a.status <> 'cancelled'), 0) as progress_sum
                from actions a where a.plan_id = p.id) t on true
            where p.action_count <> t.actions or p.progress <> t.progress or p.open_due_dates <> t.due
               or p.status_counts[3] <> t.completed or p.status_counts[5] <> t.cancelled
               or p.progress_sum <> t.progress_sum)",
    )
    .fetch_one(pool)
    .await
    .expect("mismatches")
}

#[tokio::test]
async fn kept_roll_ups_follow_every_kind_of_write() {
    let app = spawn_app().await;
    let pool = &app.pool;
    let kept: (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from activities where participants > 0),
                (select count(*) from recommendation_lists where recommendation_count > 0),
                (select count(*) from action_plans where action_count > 0)",
    )
    .fetch_one(pool)
    .await
    .expect("demo roll-ups");
    assert!(
        kept.0 > 0 && kept.1 > 0 && kept.2 > 0,
        "the demo has something to roll up: {kept:?}"
    );
    assert_eq!(mismatches(pool).await, 0, "after the demo data");

    for write in [
        "update participant_counts set count = count + 3
         where activity_id = (select min(activity_id) from participant_counts) and sex = 'female'",
        "delete from participant_counts
         where activity_id = (select max(activity_id) from participant_counts) and sex = 'male'",
        "insert into participant_counts (activity_id, participant_group, sex, count)
         select id, 'other', 'female', 7 from activities
         where id not in (select activity_id from participant_counts where participant_group = 'other')
         limit 2",
        "delete from priorities where recommendation_id = (select min(recommendation_id) from priorities)",
        "insert into priorities (recommendation_id, level, rank)
         select r.id, 'national', 1 from recommendations r
         where not exists (select 1 from priorities p where p.recommendation_id = r.id)
         order by r.id limit 1",
        "update recommendations set theme_id = null where id = (select min(id) from recommendations)",
        "delete from recommendations where id = (select max(id) from recommendations)
         and not exists (select 1 from priorities p where p.recommendation_id = recommendations.id)",
        "insert into recommendations (list_id, position, text_en, addressee)
         select id, 99, 'Kept count check', 'sna' from recommendation_lists order by id limit 1",
        "insert into action_updates (action_id, reported_on, status, progress, reported_by, reporter_organization_id)
         select a.id, current_date, 'completed', 100, u.id, u.organization_id
         from actions a cross join (select id, organization_id from users order by id limit 1) u
         order by a.id limit 1",
        "update actions set due_on = starts_on where id = (select max(id) from actions)",
        "delete from actions where id = (select min(id) from actions)",
    ] {
        sqlx::query(write).execute(pool).await.expect(write);
        assert_eq!(mismatches(pool).await, 0, "after: {write}");
    }
}
