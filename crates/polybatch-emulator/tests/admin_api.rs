//! The admin API under `/_polybatch/`: inspect the simulated service, move its clock, manage
//! fault rules and counters, over real loopback HTTP.

use std::sync::Arc;

use polybatch::clock::{Clock, SystemClock};
use polybatch_emulator::{Context, Emulator, EmulatorConfig, FaultKind, Provider, SimClock};
use serde_json::{Value, json};

async fn start() -> (polybatch_emulator::RunningEmulator, reqwest::Client) {
    let ctx = Context::new(
        EmulatorConfig::default(),
        SimClock::manual(),
        Arc::new(SystemClock),
    );
    let running = Emulator::with_context(ctx).spawn_local().await.unwrap();
    (running, reqwest::Client::new())
}

async fn get(c: &reqwest::Client, url: String) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(c: &reqwest::Client, url: String, body: Value) -> u16 {
    c.post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn health_state_and_clock() {
    let (e, c) = start().await;
    let base = e.url();
    let (s, health) = get(&c, format!("{base}/_polybatch/health")).await;
    assert_eq!((s, health["status"].as_str()), (200, Some("ok")));

    let (_, state) = get(&c, format!("{base}/_polybatch/state")).await;
    assert!(
        state["azure"].is_object() && state["tencent"].is_object(),
        "{state}"
    );

    let before = e.emulator().context().sim_clock.now();
    assert_eq!(
        post(
            &c,
            format!("{base}/_polybatch/clock/advance"),
            json!({"seconds": 90})
        )
        .await,
        200
    );
    let after = e.emulator().context().sim_clock.now();
    assert_eq!((after - before).num_seconds(), 90);
    let (_, clock) = get(&c, format!("{base}/_polybatch/clock")).await;
    assert_eq!(clock["now"].as_str(), Some(after.to_rfc3339().as_str()));

    // Time never goes backwards, and nonsense is refused without moving it.
    for bad in [
        json!({"seconds": -1}),
        json!({"seconds": 1e12}),
        json!({"minutes": 1}),
    ] {
        let status = post(&c, format!("{base}/_polybatch/clock/advance"), bad.clone()).await;
        assert!((400..500).contains(&status), "{bad} -> {status}");
    }
    assert_eq!(e.emulator().context().sim_clock.now(), after);
}

#[tokio::test]
async fn fault_rules_and_switch() {
    let (e, c) = start().await;
    let base = e.url();
    let rule = json!({
        "provider": "tencent", "operation": "DescribeJob", "times": 2, "every": 1,
        "fault": {"kind": "error", "status": 200, "code": "InternalError"}
    });
    assert_eq!(
        post(&c, format!("{base}/_polybatch/faults"), rule).await,
        201
    );
    // `every` may be left out: it defaults to every request.
    let rule = json!({
        "provider": "azure", "operation": "*", "times": 1,
        "fault": {"kind": "delay", "millis": 1}
    });
    assert_eq!(
        post(&c, format!("{base}/_polybatch/faults"), rule).await,
        201
    );
    let (_, listed) = get(&c, format!("{base}/_polybatch/faults")).await;
    assert_eq!(listed["enabled"], json!(true));
    assert_eq!(
        listed["rules"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    assert_eq!(listed["rules"][1]["every"], json!(1));

    let faults = &e.emulator().context().faults;
    assert_eq!(
        post(
            &c,
            format!("{base}/_polybatch/faults/enabled"),
            json!({"enabled": false})
        )
        .await,
        200
    );
    assert_eq!(
        faults.take(Provider::Tencent, "DescribeJob"),
        None,
        "switched off"
    );
    assert_eq!(
        post(
            &c,
            format!("{base}/_polybatch/faults/enabled"),
            json!({"enabled": true})
        )
        .await,
        200
    );
    assert!(matches!(
        faults.take(Provider::Tencent, "DescribeJob"),
        Some(FaultKind::Error { .. })
    ));

    // A malformed rule is refused and changes nothing.
    let status = post(
        &c,
        format!("{base}/_polybatch/faults"),
        json!({"provider": "aws"}),
    )
    .await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(faults.rules().len(), 2);

    let r = c
        .delete(format!("{base}/_polybatch/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(faults.rules().is_empty());
}

#[tokio::test]
async fn stats_count_requests_and_reset() {
    let (e, c) = start().await;
    let base = e.url();
    // An unsigned Tencent request is counted, and so is its AuthFailure answer.
    let r = c
        .post(format!("{base}/"))
        .header("X-TC-Action", "DescribeJobs")
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, stats) = get(&c, format!("{base}/_polybatch/stats")).await;
    assert_eq!(
        stats["requests"]["tencent:DescribeJobs"],
        json!(1),
        "{stats}"
    );
    assert_eq!(
        stats["errors"]["tencent:AuthFailure.InvalidAuthorization"],
        json!(1),
        "{stats}"
    );
    let r = c
        .delete(format!("{base}/_polybatch/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (_, stats) = get(&c, format!("{base}/_polybatch/stats")).await;
    assert_eq!(stats["requests"], json!({}));
}

#[tokio::test]
async fn a_configured_admin_token_guards_everything_but_health() {
    let config = EmulatorConfig {
        admin_token: Some(polybatch::secret::Secret::new("tok-123")),
        ..EmulatorConfig::default()
    };
    let ctx = Context::new(config, SimClock::manual(), Arc::new(SystemClock));
    let e = Emulator::with_context(ctx).spawn_local().await.unwrap();
    let c = reqwest::Client::new();
    let base = e.url();
    assert_eq!(get(&c, format!("{base}/_polybatch/health")).await.0, 200);
    for path in ["state", "clock", "faults", "stats"] {
        let url = format!("{base}/_polybatch/{path}");
        assert_eq!(get(&c, url.clone()).await.0, 401, "{path} without a token");
        for wrong in [
            "Bearer tok-12",
            "Bearer tok-1234",
            "tok-123",
            "Basic tok-123",
        ] {
            let r = c
                .get(&url)
                .header("authorization", wrong)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 401, "{path} with {wrong:?}");
        }
        let r = c
            .get(&url)
            .header("authorization", "Bearer tok-123")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path} with the token");
    }
    // A state-changing call is refused too, and changes nothing.
    let before = e.emulator().context().sim_clock.now();
    let status = post(
        &c,
        format!("{base}/_polybatch/clock/advance"),
        json!({"seconds": 60}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(e.emulator().context().sim_clock.now(), before);
}
