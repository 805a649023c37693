//! What a person looks at, above the stages: a study read through the stages' readers
//! (`snapshot`), as one self-contained HTML page (`html`), written once as `report.html`
//! (`report`) or served live while the stages run (`dashboard`); `adapt` is the page's
//! section of an `adapt --trace` replay, `markup` the pieces both are made of. Read-only: nothing here
//! takes the study's lock or writes a stage's folder.

pub mod adapt;
pub mod dashboard;
pub mod html;
pub mod markup;
pub mod report;
pub mod snapshot;
