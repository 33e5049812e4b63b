//! Samleng: civic engagement case studies, joint recommendations endorsed by
//! district administrations, and the action plans that follow them.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod geo;
pub mod home;
pub mod web;
