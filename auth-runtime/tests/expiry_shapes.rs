//! More expiry shapes (issue 9, item 9), each against a vendor written from an invented page
//! quoted above its test, not from our YAML. Time is a [`ManualClock`]: nothing sleeps.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_runtime::auth_spec::timefmt::{TimeFormat, Zone};
use auth_runtime::clock::ManualClock;
use auth_runtime::secrecy::ExposeSecret;
use auth_runtime::{Authenticator, Credentials};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// 2026-05-01T10:00:00Z.
const START: u64 = 1_777_629_600;

fn engine(
    spec: Arc<auth_runtime::auth_spec::ProviderSpec>,
    server: &MockServer,
    clock: &Arc<ManualClock>,
) -> Authenticator {
    Authenticator::builder(spec, Credentials::new().with("api_key", "k"))
        .base_url(server.uri())
        .clock(clock.clone())
        .retry(common::fast_retry())
        .build()
        .expect("builds")
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_at(
        UNIX_EPOCH + Duration::from_secs(START),
    ))
}

/// Writes `at` as the vendor's `strftime` pattern at a fixed offset such as `-05`.
fn written(at: SystemTime, pattern: &str, offset: &str) -> String {
    let format = TimeFormat::Pattern {
        pattern: pattern.into(),
        zone: Zone::parse(offset).expect("offset"),
    };
    format.render(at).as_str().expect("text").to_owned()
}

/// > **Hours Offset Bank: sessions.** `POST /login` answers `{"token", "refresh", "valid_until"}`;
/// > `valid_until` is printed by our database, e.g. `2026-05-01 10:00:00+00`. The token lasts ten
/// > minutes. Renew it with `POST /refresh` in the last minute; that answer's `expires` is written
/// > for our New York desk, e.g. `01.05.2026 05:00:00 -05`.
struct HoursOffsetBank(Arc<ManualClock>);

impl Respond for HoursOffsetBank {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let until = auth_runtime::clock::Clock::wall(&*self.0) + Duration::from_secs(600);
        let body = match request.url.path() {
            "/login" => serde_json::json!({
                "token": "tok-1", "refresh": "ref-1",
                "valid_until": written(until, "%Y-%m-%d %H:%M:%S%:::z", "+00"),
            }),
            _ => serde_json::json!({
                "token": "tok-2",
                "expires": written(until, "%d.%m.%Y %H:%M:%S %:::z", "-05"),
            }),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn offsets_with_hours_only_are_read_as_the_instant_they_name() {
    let server = MockServer::start().await;
    let clock = clock();
    Mock::given(method("POST"))
        .respond_with(HoursOffsetBank(Arc::clone(&clock)))
        .mount(&server)
        .await;
    let auth = engine(common::fixture("hours_only_offset"), &server, &clock);
    assert_eq!(auth.access_token().await.expect("login").generation(), 1);
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    assert_eq!(
        common::epoch(session.access_expires_at.expect("known")),
        START + 600,
        "`+00` is UTC"
    );
    // Nine minutes later the token is still fresh (margin 60 s): no renewal.
    clock.advance(Duration::from_secs(530));
    assert_eq!(auth.renew_if_due().await.expect("token").generation(), 1);
    // Within the last minute it is refreshed; the `-05` answer names the same kind of instant.
    clock.advance(Duration::from_secs(20));
    assert_eq!(auth.renew_if_due().await.expect("token").generation(), 2);
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    assert_eq!(
        common::epoch(session.access_expires_at.expect("known")),
        START + 550 + 600,
        "`-05` is five hours behind UTC"
    );
    assert_eq!(common::count(&server, "/refresh").await, 1);
}

/// > **Migrating Bank: API 2.0.** The login answer now wraps everything in `data`:
/// > `{"data": {"token": "...", "ttl": 900}}`. Accounts not yet migrated keep getting the 1.x
/// > answer `{"token": "...", "expires_in": 900}` until their migration night; some gateways
/// > send the token in the `X-Token` header instead. Tokens last 15 minutes; an expired one is
/// > answered with 401.
struct MigratingBank(std::sync::atomic::AtomicUsize);

impl Respond for MigratingBank {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "tok-1x", "expires_in": 900})),
            1 => ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": {"token": "tok-2x", "ttl": 600}})),
            _ => ResponseTemplate::new(200)
                .insert_header("X-Token", "tok-gw")
                .set_body_json(serde_json::json!({"expires_in": 300})),
        }
    }
}

#[tokio::test]
async fn each_revision_of_the_answer_yields_its_token_and_lifetime() {
    let server = MockServer::start().await;
    let clock = clock();
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(MigratingBank(Default::default()))
        .mount(&server)
        .await;
    let auth = engine(common::fixture("alternative_paths"), &server, &clock);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let token = auth.access_token().await.expect("token");
        let session = auth
            .status()
            .await
            .expect("status")
            .session
            .expect("session");
        let lifetime = session
            .access_expires_at
            .expect("known")
            .duration_since(session.issued_at)
            .expect("after")
            .as_secs();
        seen.push((token.secret().expose_secret().to_owned(), lifetime));
        // Past its expiry, the next call logs in again.
        clock.advance(Duration::from_secs(lifetime + 1));
    }
    assert_eq!(
        seen,
        [
            ("tok-1x".to_owned(), 900),
            ("tok-2x".to_owned(), 600),
            ("tok-gw".to_owned(), 300)
        ]
    );
}

/// > **Chosen Lifetime Bank.** `POST /sessions` with `{"key": "...", "session_length": N}`: N is
/// > the session length in minutes (a number, 5 to 120). The answer `{"session": "..."}` does
/// > not repeat it. Log in again before the session ends.
#[tokio::test]
async fn the_lifetime_the_login_asked_for_is_the_tokens_lifetime() {
    let server = MockServer::start().await;
    let clock = clock();
    Mock::given(method("POST"))
        .and(path("/sessions"))
        .and(wiremock::matchers::body_json(
            serde_json::json!({"key": "k", "session_length": 30}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"session": "s-1"})),
        )
        .mount(&server)
        .await;
    let auth = engine(common::fixture("requested_lifetime"), &server, &clock);
    auth.access_token().await.expect("login");
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    assert_eq!(
        common::epoch(session.access_expires_at.expect("known")),
        START + 30 * 60,
        "the 30 minutes asked for"
    );
    // Kept until the 30 minutes are over, then a new login (asking for 30 minutes again).
    clock.advance(Duration::from_secs(29 * 60 + 59));
    assert_eq!(auth.access_token().await.expect("token").generation(), 1);
    clock.advance(Duration::from_secs(2));
    assert_eq!(auth.access_token().await.expect("token").generation(), 2);
    assert_eq!(common::count(&server, "/sessions").await, 2);
}

/// > **Drifting Clock Bank.** The login answer's `valid_until` (RFC 3339) is the token's end by
/// > our clock; tokens last 15 minutes. Our servers' clocks may be off by minutes: compare
/// > `valid_until` with the `Date` header of the same answer, not with your own clock. A token
/// > past its end is answered with 401.
struct DriftingClockBank {
    clock: Arc<ManualClock>,
    /// How far the vendor's clock is ahead of ours (negative: behind), in seconds.
    ahead: i64,
}

impl DriftingClockBank {
    fn vendor_now(&self) -> SystemTime {
        let ours = auth_runtime::clock::Clock::wall(&*self.clock);
        let by = Duration::from_secs(self.ahead.unsigned_abs());
        if self.ahead >= 0 {
            ours + by
        } else {
            ours - by
        }
    }
}

impl Respond for DriftingClockBank {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let now = self.vendor_now();
        let until = TimeFormat::Rfc3339.render(now + Duration::from_secs(900));
        let date = TimeFormat::HttpDate.render(now);
        ResponseTemplate::new(200)
            .insert_header("Date", date.as_str().expect("text"))
            .set_body_json(serde_json::json!({"token": "tok", "valid_until": until}))
    }
}

#[tokio::test]
async fn expiry_times_of_a_vendor_whose_clock_is_off_are_read_on_ours() {
    for ahead in [600, -600] {
        let server = MockServer::start().await;
        let clock = clock();
        Mock::given(method("POST"))
            .and(path("/login"))
            .respond_with(DriftingClockBank {
                clock: Arc::clone(&clock),
                ahead,
            })
            .mount(&server)
            .await;
        let auth = engine(common::fixture("server_time"), &server, &clock);
        auth.access_token().await.expect("login");
        let session = auth
            .status()
            .await
            .expect("status")
            .session
            .expect("session");
        assert_eq!(
            common::epoch(session.access_expires_at.expect("known")),
            START + 900,
            "the vendor's clock {ahead} s ahead: its 15 minutes end 15 minutes from now on ours"
        );
        // Never used dead: just past the 15 minutes, the next call logs in again.
        clock.advance(Duration::from_secs(899));
        assert_eq!(auth.access_token().await.expect("token").generation(), 1);
        clock.advance(Duration::from_secs(2));
        assert_eq!(auth.access_token().await.expect("token").generation(), 2);
    }
}

/// > **Sliding Session Bank.** `POST /session` with your API key answers `{"session_id":
/// > "..."}`. Send it as `X-Session-Id` on every call. A session ends after 15 minutes without
/// > a call; any call restarts the 15 minutes, and so does `POST /session/ping` (204, or 401
/// > once the session has ended). Calls with an ended session answer 401.
struct SlidingBank {
    clock: Arc<ManualClock>,
    state: std::sync::Mutex<Sliding>,
}

#[derive(Default)]
struct Sliding {
    /// Session -> its last call.
    last_call: std::collections::HashMap<String, SystemTime>,
    logins: u32,
    pings: u32,
    /// Calls (or pings) that arrived with an ended session.
    dead_used: u32,
}

impl Respond for SlidingBank {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = auth_runtime::clock::Clock::wall(&*self.clock);
        let mut state = self.state.lock().expect("state");
        if request.url.path() == "/session" {
            state.logins += 1;
            let id = format!("sess-{}", state.logins);
            state.last_call.insert(id.clone(), now);
            return ResponseTemplate::new(200).set_body_json(serde_json::json!({"session_id": id}));
        }
        if request.url.path() == "/session/ping" {
            state.pings += 1;
        }
        let id = request
            .headers
            .get("x-session-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let alive = state.last_call.get(&id).is_some_and(|last| {
            now.duration_since(*last).unwrap_or_default() <= Duration::from_secs(900)
        });
        if !alive {
            state.dead_used += 1;
            state.last_call.remove(&id);
            return ResponseTemplate::new(401);
        }
        state.last_call.insert(id, now);
        match request.url.path() {
            "/session/ping" => ResponseTemplate::new(204),
            _ => ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [1]})),
        }
    }
}

#[tokio::test]
async fn an_idle_session_is_kept_alive_or_logged_into_again_never_used_dead() {
    let server = MockServer::start().await;
    let clock = clock();
    let bank = Arc::new(SlidingBank {
        clock: Arc::clone(&clock),
        state: Default::default(),
    });
    struct Shared(Arc<SlidingBank>);
    impl Respond for Shared {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            self.0.respond(request)
        }
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(Shared(Arc::clone(&bank)))
        .mount(&server)
        .await;
    let auth = engine(common::fixture("idle_session"), &server, &clock);
    let client = auth.client(reqwest::Client::new());
    let call = || async {
        client
            .get(format!("{}/data", server.uri()))
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16()
    };
    let counts = || {
        let state = bank.state.lock().expect("state");
        (state.logins, state.pings, state.dead_used)
    };
    assert_eq!(call().await, 200);
    // Calls every 5 minutes: the session slides, one login, no ping.
    for _ in 0..4 {
        clock.advance(Duration::from_secs(300));
        assert_eq!(call().await, 200);
    }
    assert_eq!(counts(), (1, 0, 0));
    // 12 minutes without a call (the last quarter of 15): a ping first, then the call.
    clock.advance(Duration::from_secs(720));
    assert_eq!(call().await, 200);
    assert_eq!(counts(), (1, 1, 0));
    // 20 minutes without a call: the session is over; a new login, the old id never sent.
    clock.advance(Duration::from_secs(1200));
    assert_eq!(call().await, 200);
    assert_eq!(
        counts(),
        (2, 1, 0),
        "(logins, pings, calls with an ended session)"
    );
    assert_eq!(auth.cached().expect("token").generation(), 2);
}

/// The same sliding session bank, whose `POST /session/ping` takes `delay` to answer.
struct SlowPing(Arc<SlidingBank>, Duration);

impl Respond for SlowPing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self.0.respond(request);
        if request.url.path() == "/session/ping" {
            return answer.set_delay(self.1);
        }
        answer
    }
}

/// A keep-alive holds the engine's renewal lock while it waits for the vendor. A caller whose
/// token was refused meanwhile (an API call answered 401) waits for that lock, and must not be
/// left waiting for a renewal that the keep-alive never makes; and the keep-alive's success,
/// which was about the session before the refusal, must not make the refused token usable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_behind_a_keep_alive_logs_in_once_it_ends() {
    let server = MockServer::start().await;
    let clock = clock();
    let bank = Arc::new(SlidingBank {
        clock: Arc::clone(&clock),
        state: Default::default(),
    });
    Mock::given(wiremock::matchers::any())
        .respond_with(SlowPing(Arc::clone(&bank), Duration::from_millis(400)))
        .mount(&server)
        .await;
    let auth = engine(common::fixture("idle_session"), &server, &clock);
    let first = auth.access_token().await.expect("login");
    // 12 minutes without a call, the last quarter of 15: the next caller pings first.
    clock.advance(Duration::from_secs(720));
    let keeper = tokio::spawn({
        let auth = auth.clone();
        async move { auth.access_token().await }
    });
    while bank.state.lock().expect("state").pings == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // While the ping is on its way, an API call with the token is answered 401.
    auth.invalidate(first.generation());
    let next = tokio::time::timeout(Duration::from_secs(20), auth.access_token())
        .await
        .expect("the caller is not left waiting once the keep-alive ends")
        .expect("a token");
    assert_eq!(
        next.generation(),
        2,
        "a new login: the refused token is not handed out again"
    );
    assert_ne!(
        next.secret().expose_secret(),
        first.secret().expose_secret()
    );
    keeper.await.expect("keeper").expect("the keeper's token");
    let state = bank.state.lock().expect("state");
    assert_eq!((state.logins, state.pings), (2, 1));
}
