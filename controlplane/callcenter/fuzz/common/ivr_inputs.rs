//! The IVR session driven by bytes: keys, prompt ends (right and stale
//! ids), HTTP answers (matching, wrong, failed, stale), jumps in time and
//! a hang-up, over a three-menu tree with multi-digit entry, retries,
//! back/repeat and a lookup. Checks: no panic; at most one `Done`, and
//! nothing after it; a hang-up always ends the session; no deadline lies
//! in the past after `handle_timeout`; the recorded call data stays within
//! its caps.

use std::sync::Arc;
use std::time::Duration;

use tandem_callcenter::Timestamp;
use tandem_callcenter::ivr::{
    Action, BranchConfig, CollectConfig, HttpAnswer, HttpError, HttpLookupConfig, Input, IvrConfig,
    IvrSession, LookupId, MAX_KEYS, MAX_PATH, MenuConfig, MenuTree, Output, PromptId,
};

fn tree() -> Arc<MenuTree> {
    let a = |s: &str| Action::parse(s).expect("a valid fuzz action");
    let mut main = MenuConfig::new("main", "main.wav");
    main.entry = true;
    main.digits = vec![
        ('1', a("menu:account")),
        ('2', a("queue:sales")),
        ('0', a("transfer:number:13800000000")),
        ('*', a("repeat")),
        ('#', a("back")),
    ];
    main.retries = 2;
    main.invalid_prompt = Some("invalid.wav".into());
    main.timeout_prompt = Some("timeout.wav".into());
    main.timeout_action = a("queue:general");
    let mut account = MenuConfig::new("account", "account.wav");
    account.collect = Some(CollectConfig {
        min: 4,
        max: 8,
        terminator: Some('#'),
        then: a("http:crm"),
    });
    account.digits = vec![('*', a("back"))];
    account.retries = 1;
    account.timeout_action = a("menu:main");
    account.barge_in = false;
    let mut notice = MenuConfig::new("notice", "notice.wav");
    notice.timeout_action = a("voicemail:general");
    let mut crm = HttpLookupConfig::new("crm", "http://127.0.0.1:9/crm", a("menu:notice"));
    crm.on = vec![BranchConfig {
        field: "vip".into(),
        equals: "true".into(),
        then: a("queue:vip;priority=3"),
    }];
    crm.set_priority_from = Some("priority".into());
    crm.on_error = a("hangup");
    Arc::new(
        MenuTree::new(IvrConfig {
            menus: vec![main, account, notice],
            lookups: vec![crm],
        })
        .expect("the fuzz tree is valid"),
    )
}

pub(crate) fn ivr_inputs(data: &[u8]) {
    let tree = tree();
    let mut s = IvrSession::new(tree.clone(), tree.entry(), "13812345678");
    let mut now = Timestamp::from_secs(1_800_000_000);
    let mut done = 0;
    let mut prompt = None;
    let mut lookup = None;
    let drain = |s: &mut IvrSession,
                 done: &mut u32,
                 prompt: &mut Option<PromptId>,
                 lookup: &mut Option<LookupId>| {
        while let Some(o) = s.poll_output() {
            assert_eq!(*done, 0, "output after Done: {o:?}");
            match o {
                Output::Play { id, .. } => *prompt = Some(id),
                Output::HttpLookup { id, .. } => *lookup = Some(id),
                Output::Done(_) => *done += 1,
                Output::StopPrompt | Output::Event(_) => {}
            }
        }
    };
    let _ = s.handle_input(now, Input::Start);
    drain(&mut s, &mut done, &mut prompt, &mut lookup);
    for pair in data.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let input = match op % 8 {
            0..=2 => Input::Digit(b"0123456789*#A"[usize::from(arg) % 13] as char),
            3 => Input::PromptDone {
                id: match (arg % 3, prompt) {
                    (0, Some(p)) => p,
                    _ => PromptId(u32::from(arg)),
                },
            },
            4 => {
                let id = match (arg % 3, lookup) {
                    (0 | 1, Some(l)) => l,
                    _ => LookupId(u32::from(arg)),
                };
                let result = match arg % 4 {
                    0 => Ok(HttpAnswer::new([("vip", "true"), ("priority", "200")])),
                    1 => Ok(HttpAnswer::new([("priority", "x9")])),
                    2 => Err(HttpError::Status(500)),
                    _ => Err(HttpError::Transport("reset".into())),
                };
                Input::HttpResult { id, result }
            }
            5 | 6 => {
                now = now + Duration::from_millis(u64::from(arg) * 100);
                s.handle_timeout(now);
                if let Some(t) = s.poll_timeout() {
                    assert!(t > now, "a deadline {t} is due at {now}");
                }
                drain(&mut s, &mut done, &mut prompt, &mut lookup);
                continue;
            }
            _ => {
                if arg % 16 == 0 {
                    Input::Hangup
                } else {
                    continue;
                }
            }
        };
        let _ = s.handle_input(now, input);
        drain(&mut s, &mut done, &mut prompt, &mut lookup);
        let d = s.data();
        assert!(d.path.len() <= MAX_PATH && d.keys.len() <= MAX_KEYS);
    }
    let _ = s.handle_input(now, Input::Hangup);
    drain(&mut s, &mut done, &mut prompt, &mut lookup);
    assert_eq!(done, 1, "a session ends with exactly one Done");
    assert!(s.is_done());
}
