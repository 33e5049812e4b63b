-- A plan's page is kept until the data changes, and so are pages that show
-- endorsements, the evidence a recommendation cites and a study's funders:
-- the tables that link them move the data generation too.
do $$
declare
    watched text;
begin
    foreach watched in array array[
        'action_recommendations', 'endorsements', 'recommendation_evidence', 'study_funders']
    loop
        execute format(
            'create trigger %I after insert or update or delete or truncate on %I
             for each statement execute function bump_data_generation()',
            watched || '_moves_data_generation', watched);
    end loop;
end $$;

-- A district's activities of one cycle, in date order: the usual export, read
-- from one index whatever the years and districts around it.
create index activities_district_study_idx on activities (district_code, study_id, held_on, id);
