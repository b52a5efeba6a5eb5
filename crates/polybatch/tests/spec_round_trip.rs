//! Property: `export_job(submit_job(spec))` is `spec`, on every in-memory flavour, up to the
//! normalisations `docs/lifecycle.md` documents (Tencent keeps a shell line, so an argv comes
//! back as its quoted line; task order is the provider's).

use std::collections::BTreeMap;
use std::time::Duration;

use polybatch::memory::{InMemoryBackend, TENCENT_REGION};
use polybatch::{
    BatchBackend, Command, ExportJobOptions, IdempotencyKey, JobSpec, Placement, SubmitJobOptions,
    TaskId, TaskSpec,
};
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        "[a-z $'\"=./-]{1,20}"
            .prop_filter("not blank", |s| !s.trim().is_empty())
            .prop_map(Command::Shell),
        prop::collection::vec("[a-zA-Z0-9 '\"$_.-]{0,8}", 1..4).prop_map(Command::Argv),
    ]
}

/// Up to four tasks, each depending only on earlier ones (a DAG by construction).
fn tasks() -> impl Strategy<Value = Vec<TaskSpec>> {
    prop::collection::vec(
        (
            command(),
            prop::collection::btree_map(word(), "[a-z0-9 ]{0,6}", 0..3),
            prop::option::of(1u32..5),
            prop::option::of(1u64..100_000),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        ),
        1..5,
    )
    .prop_map(|raw| {
        let mut out: Vec<TaskSpec> = Vec::new();
        for (i, (command, env, retries, timeout, deps)) in raw.into_iter().enumerate() {
            let mut t = TaskSpec::new(TaskId::new(format!("t{i}")).unwrap(), command);
            t.env = env;
            t.max_retries = retries;
            t.timeout = timeout.map(Duration::from_secs);
            if i > 0 {
                let mut d: Vec<TaskId> = deps
                    .iter()
                    .map(|ix| TaskId::new(format!("t{}", ix.index(i))).unwrap())
                    .collect();
                d.sort();
                d.dedup();
                t.depends_on = d;
            }
            out.push(t);
        }
        out
    })
}

fn spec(placement: Placement) -> impl Strategy<Value = JobSpec> {
    (
        "[a-zA-Z][a-zA-Z0-9 _-]{0,30}",
        prop::collection::btree_map(word(), "[a-z0-9]{0,8}", 0..4),
        prop::option::of(1i32..100),
        tasks(),
        "[a-z0-9]{8,20}",
    )
        .prop_map(move |(name, labels, priority, tasks, key)| {
            let mut s = JobSpec::new(name, placement.clone(), tasks);
            s.labels = labels;
            s.priority = priority;
            s.idempotency_key = Some(IdempotencyKey::new(key).unwrap());
            s
        })
}

fn by_name(mut s: JobSpec) -> JobSpec {
    s.tasks.sort_by(|a, b| a.name.cmp(&b.name));
    for t in &mut s.tasks {
        t.depends_on.sort();
    }
    s
}

fn round_trip(backend: &InMemoryBackend, s: JobSpec) -> (JobSpec, JobSpec) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let job = backend
            .submit_job(s.clone(), SubmitJobOptions::default())
            .await
            .unwrap()
            .job;
        let exported = backend
            .export_job(&job, ExportJobOptions::default())
            .await
            .unwrap();
        assert!(exported.dropped.is_empty(), "{:?}", exported.dropped);
        (by_name(exported.spec), by_name(s))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn azure_flavour_gives_the_spec_back(s in spec(Placement::AzurePool { pool_id: "pool-1".into() })) {
        let backend = InMemoryBackend::azure();
        let (got, want) = round_trip(&backend, s);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn tencent_flavour_gives_the_spec_back_with_argv_as_a_line(s in spec(Placement::TencentManaged {
        zone: format!("{TENCENT_REGION}-3"),
        instance_type: "S5.MEDIUM2".into(),
        image_id: "img-1".into(),
    })) {
        let backend = InMemoryBackend::tencent();
        let (got, mut want) = round_trip(&backend, s);
        for t in &mut want.tasks {
            if let Command::Argv(argv) = &t.command {
                let words: Vec<&str> = argv.iter().map(String::as_str).collect();
                t.command = Command::Shell(shlex::try_join(words).unwrap());
            }
        }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn labels_survive_exactly() {
    let mut labels = BTreeMap::new();
    labels.insert("team".to_string(), "render".to_string());
    let s = JobSpec::new(
        "j",
        Placement::AzurePool {
            pool_id: "p".into(),
        },
        vec![TaskSpec::shell(TaskId::new("a").unwrap(), "true")],
    );
    let mut s = s;
    s.labels = labels.clone();
    s.idempotency_key = Some(IdempotencyKey::new("k").unwrap());
    let (got, _) = round_trip(&InMemoryBackend::azure(), s);
    assert_eq!(got.labels, labels);
}
