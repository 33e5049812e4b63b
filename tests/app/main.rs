//! Integration tests: real HTTP against the real router and a real PostgreSQL.

mod action_plans;
mod admin;
mod attachments;
mod authorization;
mod browser;
mod case_studies;
mod cli;
mod corrections;
mod dashboard;
mod field_work;
mod findings;
mod fuzz;
mod gazetteer;
mod helpers;
mod links;
mod notifications;
mod pages;
mod paper;
mod recommendations;
mod sign_in;
mod small_counts;
mod telegram;
mod trust;
mod versions;
mod wayfinding;
