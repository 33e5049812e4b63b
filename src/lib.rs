//! Samleng: civic engagement case studies, joint recommendations endorsed by
//! district administrations, and the action plans that follow them.

pub mod account;
pub mod action_plans;
pub mod activities;
pub mod admin;
pub mod app;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod case_studies;
pub mod config;
pub mod cycles;
pub mod dashboard;
pub mod db;
pub mod deleted;
pub mod demo;
pub mod disclosure;
pub mod error;
pub mod exports;
pub mod files;
pub mod format;
pub mod geo;
pub mod home;
pub mod i18n;
pub mod imports;
pub mod notifications;
pub mod observability;
pub mod public;
pub mod recommendations;
pub mod revisions;
pub mod state;
pub mod studies;
pub mod themes;
pub mod web;
