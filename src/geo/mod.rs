//! Cambodia's provinces, districts and communes: the pages that browse them and
//! the gazetteer import.

pub mod district;
pub mod import;
pub mod places;
pub mod routes;
pub mod shapes;
pub mod shipped;
