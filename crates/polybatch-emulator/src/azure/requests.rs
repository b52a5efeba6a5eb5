//! What a request under `/jobs` asks for: its route from the method and path, the operation
//! it counts as, and the query parameters that operation takes.

use axum::http::Method;
use percent_encoding::percent_decode_str;
use polybatch_protocol::azure::ApiVersion;

#[derive(Debug, Clone)]
pub(crate) enum Route {
    JobAdd,
    JobList,
    JobGet(String),
    JobTerminate(String),
    JobDelete(String),
    JobPatch(String),
    TaskAdd(String),
    TaskAddCollection(String),
    TaskList(String),
    TaskGet(String, String),
    TaskFile(String, String, String),
    TaskReactivate(String, String),
    TaskTerminate(String, String),
    PrepReleaseStatus(String),
    /// A Batch path this emulator does not serve (Job_List, Job_Update, ...).
    NotImplemented,
    /// A known path with a verb it does not take.
    BadVerb,
}

impl Route {
    pub(crate) fn parse(method: &Method, path: &str) -> Route {
        let rest = path.strip_prefix("/jobs").unwrap_or("");
        let segs: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let get = method == Method::GET;
        let post = method == Method::POST;
        let delete = method == Method::DELETE;
        let patch = method == Method::PATCH;
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match segs.as_slice() {
            [] if post => Route::JobAdd,
            [] if get => Route::JobList,
            [] => Route::BadVerb,
            [j] if get => Route::JobGet(j.to_string()),
            [j] if delete => Route::JobDelete(j.to_string()),
            [j] if patch => Route::JobPatch(j.to_string()),
            [j, "addtaskcollection"] if post => Route::TaskAddCollection(j.to_string()),
            [_, "addtaskcollection"] => Route::BadVerb,
            [j, "terminate"] if post => Route::JobTerminate(j.to_string()),
            [_, "terminate"] => Route::BadVerb,
            [j, "tasks"] if post => Route::TaskAdd(j.to_string()),
            [j, "tasks"] if get => Route::TaskList(j.to_string()),
            [j, "tasks", t] if get => Route::TaskGet(j.to_string(), t.to_string()),
            [j, "tasks", t, "files", path @ ..] if get && !path.is_empty() => {
                Route::TaskFile(j.to_string(), t.to_string(), path.join("/"))
            }
            [j, "tasks", t, "reactivate"] if post => {
                Route::TaskReactivate(j.to_string(), t.to_string())
            }
            [j, "tasks", t, "terminate"] if post => {
                Route::TaskTerminate(j.to_string(), t.to_string())
            }
            [_, "tasks", _, "reactivate" | "terminate"] => Route::BadVerb,
            [j, "jobpreparationandreleasetaskstatus"] if get => {
                Route::PrepReleaseStatus(j.to_string())
            }
            [_, "jobpreparationandreleasetaskstatus"] => Route::BadVerb,
            _ => Route::NotImplemented,
        }
    }

    pub(crate) fn operation(&self) -> &'static str {
        match self {
            Route::JobAdd => "Job_Add",
            Route::JobList => "Job_List",
            Route::JobGet(_) => "Job_Get",
            Route::JobTerminate(_) => "Job_Terminate",
            Route::JobDelete(_) => "Job_Delete",
            Route::JobPatch(_) => "Job_Patch",
            Route::TaskAdd(_) => "Task_Add",
            Route::TaskAddCollection(_) => "Task_AddCollection",
            Route::TaskList(_) => "Task_List",
            Route::TaskGet(..) => "Task_Get",
            Route::TaskFile(..) => "File_GetFromTask",
            Route::TaskReactivate(..) => "Task_Reactivate",
            Route::TaskTerminate(..) => "Task_Terminate",
            Route::PrepReleaseStatus(_) => "Job_ListPreparationAndReleaseTaskStatus",
            Route::NotImplemented | Route::BadVerb => "Unsupported",
        }
    }

    /// Query parameters the operation takes besides `api-version` and `timeout`.
    pub(crate) fn extra_query(&self, version: ApiVersion) -> &'static [&'static str] {
        match self {
            Route::JobGet(_) | Route::TaskGet(..) => &["$select", "$expand"],
            Route::TaskList(_) | Route::JobList => {
                &["$filter", "$select", "$expand", "maxresults", "$skiptoken"]
            }
            Route::PrepReleaseStatus(_) => &["$filter", "$select", "maxresults", "$skiptoken"],
            // `force` exists from 2024-07-01.20.0 on; older versions do not know it.
            Route::JobTerminate(_) if version.supports_force() => &["force"],
            _ => &[],
        }
    }
}
