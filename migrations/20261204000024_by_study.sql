-- A study's lists and plans, found by their study: the comparison of cycles
-- reads two studies' lists and plans, and at ten times the data (all 210
-- districts over ten years) reading every list and plan to find them cost
-- ten times as much.
create index recommendation_lists_study_id_idx on recommendation_lists (study_id);
create index action_plans_study_id_idx on action_plans (study_id);
