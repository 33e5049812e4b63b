//! Integration tests: real HTTP against the real router and a real PostgreSQL.

mod admin;
mod authorization;
mod browser;
mod cli;
mod gazetteer;
mod helpers;
mod pages;
mod sign_in;
