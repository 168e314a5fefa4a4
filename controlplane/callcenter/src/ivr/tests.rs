//! Each IVR behaviour on a small menu tree, in virtual time.

use std::sync::Arc;
use std::time::Duration;

use super::*;

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

fn act(s: &str) -> Action {
    Action::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn keys(map: &[(char, &str)]) -> Vec<(char, Action)> {
    map.iter().map(|(k, a)| (*k, act(a))).collect()
}

/// main → sales → products → pricing (depth 4), an account-number entry,
/// an announcement, and a CRM lookup.
fn tree() -> IvrConfig {
    let mut main = MenuConfig::new("main", "main.wav");
    main.digits = keys(&[
        ('1', "menu:sales"),
        ('2', "queue:support"),
        ('3', "menu:account"),
        ('0', "transfer:number:13800000000"),
        ('9', "voicemail:general"),
        ('*', "repeat"),
        ('#', "back"),
    ]);
    main.retries = 2;
    main.invalid_prompt = Some("invalid.wav".into());
    main.timeout_prompt = Some("timeout.wav".into());
    main.timeout_action = act("queue:general");

    let mut sales = MenuConfig::new("sales", "sales.wav");
    sales.digits = keys(&[
        ('1', "menu:products"),
        ('2', "queue:sales"),
        ('0', "menu:main"),
        ('*', "repeat"),
        ('#', "back"),
    ]);
    let mut products = MenuConfig::new("products", "products.wav");
    products.digits = keys(&[('1', "menu:pricing"), ('9', "hangup"), ('#', "back")]);
    let mut pricing = MenuConfig::new("pricing", "pricing.wav");
    pricing.digits = keys(&[('1', "queue:pricing;priority=2"), ('#', "back")]);
    pricing.barge_in = false;

    let mut account = MenuConfig::new("account", "account.wav");
    account.digits = keys(&[('*', "back")]);
    account.collect = Some(CollectConfig {
        min: 4,
        max: 6,
        terminator: Some('#'),
        then: act("http:crm"),
    });
    account.invalid_prompt = Some("invalid.wav".into());
    account.retries = 1;
    account.invalid_action = Some(act("queue:general"));

    let mut welcome = MenuConfig::new("welcome", "welcome.wav");
    welcome.timeout_action = act("menu:main");

    let mut crm = HttpLookupConfig::new("crm", "http://127.0.0.1:8080/lookup", act("menu:main"));
    crm.on = vec![
        BranchConfig {
            field: "vip".into(),
            equals: "true".into(),
            then: act("queue:vip;priority=5"),
        },
        BranchConfig {
            field: "status".into(),
            equals: "blocked".into(),
            then: act("hangup"),
        },
    ];
    crm.set_priority_from = Some("priority".into());
    crm.on_error = act("queue:general");

    IvrConfig {
        menus: vec![main, sales, products, pricing, account, welcome],
        lookups: vec![crm],
    }
}

struct Rig {
    s: IvrSession,
    now: Timestamp,
    out: Vec<Output>,
    playing: Option<PromptId>,
    lookup: Option<LookupId>,
}

impl Rig {
    fn at(config: IvrConfig, menu: &str) -> Rig {
        let tree = Arc::new(MenuTree::new(config).unwrap_or_else(|e| panic!("{e}")));
        let id = tree.menu_id(menu).unwrap();
        let mut r = Rig {
            s: IvrSession::new(tree, id, "13812345678"),
            now: T0,
            out: Vec::new(),
            playing: None,
            lookup: None,
        };
        r.input(Input::Start);
        r
    }

    fn new() -> Rig {
        Rig::at(tree(), "main")
    }

    fn drain(&mut self) {
        while let Some(o) = self.s.poll_output() {
            match &o {
                Output::Play { id, .. } => self.playing = Some(*id),
                Output::HttpLookup { id, .. } => self.lookup = Some(*id),
                _ => {}
            }
            self.out.push(o);
        }
    }

    fn input(&mut self, i: Input) {
        self.s.handle_input(self.now, i).unwrap();
        self.drain();
    }

    fn press(&mut self, digits: &str) {
        for c in digits.chars() {
            self.input(Input::Digit(c));
        }
    }

    /// The prompt playing ends by itself.
    fn prompt_done(&mut self) {
        let id = self.playing.expect("a prompt was played");
        self.input(Input::PromptDone { id });
    }

    /// Every prompt of the sequence ends by itself.
    fn prompts_done(&mut self) {
        while matches!(self.s.state, State::Prompting { .. }) {
            self.prompt_done();
        }
    }

    fn advance(&mut self, secs: u64) {
        self.now = self.now + Duration::from_secs(secs);
        self.s.handle_timeout(self.now);
        self.drain();
    }

    /// Jumps to the next deadline and runs it.
    fn expire(&mut self) {
        self.now = self.s.poll_timeout().expect("a deadline");
        self.s.handle_timeout(self.now);
        self.drain();
    }

    fn answer(&mut self, fields: &[(&str, &str)]) {
        let id = self.lookup.expect("a lookup was asked");
        self.input(Input::HttpResult {
            id,
            result: Ok(HttpAnswer::new(fields.iter().copied())),
        });
    }

    fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    fn plays(&mut self) -> Vec<String> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Output::Play { prompt, .. } => Some(prompt),
                _ => None,
            })
            .collect()
    }

    fn done(&self) -> Option<Outcome> {
        let mut done = self.out.iter().filter_map(|o| match o {
            Output::Done(d) => Some(d.clone()),
            _ => None,
        });
        let first = done.next();
        assert!(done.next().is_none(), "two Done outputs");
        first
    }

    fn events(&self) -> Vec<Event> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }
}

fn queue(name: &str, priority: u8) -> Option<Outcome> {
    Some(Outcome::Queue {
        name: name.into(),
        priority,
    })
}

#[test]
fn start_plays_the_entry_prompt_with_barge_in() {
    let mut r = Rig::new();
    assert_eq!(
        r.take(),
        [
            Output::Event(Event::MenuEntered {
                menu: "main".into()
            }),
            Output::Play {
                id: PromptId(1),
                prompt: "main.wav".into(),
                barge_in: true
            }
        ]
    );
    // No deadline while the prompt plays.
    assert_eq!(r.s.poll_timeout(), None);
}

#[test]
fn the_digit_map_runs_each_bound_action() {
    let cases = [
        ("2", queue("support", 0)),
        (
            "0",
            Some(Outcome::Transfer {
                dest: Destination::Number("13800000000".into()),
            }),
        ),
        (
            "9",
            Some(Outcome::Voicemail {
                mailbox: "general".into(),
            }),
        ),
        (
            "119",
            Some(Outcome::Hangup {
                cause: HangupCause::Action,
            }),
        ),
    ];
    for (digits, want) in cases {
        let mut r = Rig::new();
        r.prompts_done();
        r.press(digits);
        assert_eq!(r.done(), want, "{digits}");
        assert!(r.s.is_done() && r.s.poll_timeout().is_none());
    }
}

#[test]
fn a_key_during_the_prompt_stops_it_and_counts() {
    let mut r = Rig::new();
    r.take();
    r.press("1");
    let out = r.take();
    assert_eq!(out[0], Output::StopPrompt);
    assert!(out.contains(&Output::Play {
        id: PromptId(2),
        prompt: "sales.wav".into(),
        barge_in: true
    }));
    // The stopped prompt's late PromptDone is ignored: sales.wav still plays.
    r.input(Input::PromptDone { id: PromptId(1) });
    assert_eq!(r.s.poll_timeout(), None);
    r.prompt_done();
    assert_eq!(r.s.poll_timeout(), Some(r.now + Duration::from_secs(5)));
}

#[test]
fn without_barge_in_keys_wait_for_the_prompt_to_end() {
    let mut r = Rig::new();
    r.press("111"); // main → sales → products → pricing, all by barge-in
    r.take();
    r.press("1"); // pricing.wav has no barge-in: ignored
    assert!(r.take().is_empty());
    r.prompt_done();
    r.press("1");
    assert_eq!(r.done(), queue("pricing", 2));
    assert_eq!(r.s.data().keys, "1111", "the ignored key is not recorded");
}

#[test]
fn the_first_key_wait_starts_when_the_prompt_ends() {
    let mut r = Rig::new();
    r.advance(30); // a long prompt: no timeout while it plays
    assert!(
        r.events()
            .iter()
            .all(|e| !matches!(e, Event::NoInput { .. }))
    );
    r.prompt_done();
    assert_eq!(r.s.poll_timeout(), Some(T0 + Duration::from_secs(30 + 5)));
    r.advance(4);
    r.press("2");
    assert_eq!(r.done(), queue("support", 0));
}

#[test]
fn no_input_replays_with_the_timeout_prompt_then_runs_the_timeout_action() {
    let mut r = Rig::new();
    r.take();
    for attempt in 1..=2 {
        r.prompts_done();
        r.expire();
        assert!(
            r.events().contains(&Event::NoInput {
                menu: "main".into(),
                attempt
            }),
            "{attempt}"
        );
        assert_eq!(r.plays(), ["timeout.wav"]);
        r.prompt_done();
        assert_eq!(r.plays(), ["main.wav"]);
    }
    r.prompts_done();
    r.expire();
    let events = r.events();
    assert!(events.contains(&Event::RetriesExhausted {
        menu: "main".into()
    }));
    assert_eq!(r.done(), queue("general", 0));
}

#[test]
fn invalid_input_plays_not_understood_and_retries() {
    let mut r = Rig::new();
    r.prompts_done();
    r.take();
    r.press("7");
    assert!(r.events().contains(&Event::InvalidInput {
        menu: "main".into(),
        input: "7".into(),
        attempt: 1
    }));
    assert_eq!(r.plays(), ["invalid.wav"]);
    r.prompt_done();
    assert_eq!(r.plays(), ["main.wav"]);
    // A key during the not-understood prompt barges in too.
    r.press("5");
    assert_eq!(
        r.take()[..2],
        [
            Output::StopPrompt,
            Output::Event(Event::InvalidInput {
                menu: "main".into(),
                input: "5".into(),
                attempt: 2
            })
        ]
    );
    // A valid key after failures still works.
    r.press("2");
    assert_eq!(r.done(), queue("support", 0));
    assert_eq!(r.s.data().keys, "752", "invalid keys are recorded too");
}

#[test]
fn invalid_input_exhausting_retries_runs_the_invalid_action() {
    let mut r = Rig::new();
    r.press("3"); // account: retries 1, invalid_action queue:general
    r.prompts_done();
    r.press("12#");
    assert!(r.done().is_none());
    r.prompts_done();
    r.press("#"); // a terminator with nothing keyed: invalid
    assert_eq!(r.done(), queue("general", 0));
    assert!(r.events().contains(&Event::RetriesExhausted {
        menu: "account".into()
    }));
}

#[test]
fn multi_digit_entry_ends_at_the_terminator() {
    let mut r = Rig::new();
    r.press("3");
    r.prompts_done();
    r.take();
    r.press("1234#");
    let out = r.take();
    let Some(Output::HttpLookup {
        name,
        url,
        caller,
        digits,
        path,
        ..
    }) = out
        .iter()
        .find(|o| matches!(o, Output::HttpLookup { .. }))
        .cloned()
    else {
        panic!("{out:#?}")
    };
    assert_eq!(
        (
            name.as_str(),
            url.as_str(),
            caller.as_str(),
            digits.as_str()
        ),
        ("crm", "http://127.0.0.1:8080/lookup", "13812345678", "1234")
    );
    assert_eq!(path, ["main", "account"]);
    assert_eq!(r.s.data().keys, "31234#");
    assert_eq!(
        r.s.data().entries,
        [Entry {
            menu: "account".into(),
            digits: "1234".into()
        }]
    );
}

#[test]
fn multi_digit_entry_ends_at_max_or_after_the_inter_digit_timeout() {
    // Six keys: the maximum ends the entry with no terminator.
    let mut r = Rig::new();
    r.press("3");
    r.prompts_done();
    r.press("123456");
    assert!(r.lookup.is_some());

    // Four keys, then silence: the inter-digit timeout ends it.
    let mut r = Rig::new();
    r.press("3");
    r.prompts_done();
    r.advance(2);
    r.press("98");
    assert_eq!(r.s.poll_timeout(), Some(r.now + Duration::from_secs(3)));
    r.advance(2);
    r.press("76");
    r.advance(2);
    assert!(r.lookup.is_none(), "3 s between keys, not since the first");
    r.advance(1);
    assert_eq!(r.s.data().entries[0].digits, "9876");
    assert!(r.lookup.is_some());

    // Two keys, then silence: too short, invalid.
    let mut r = Rig::new();
    r.press("3");
    r.prompts_done();
    r.take();
    r.press("12");
    r.expire();
    assert!(r.events().contains(&Event::InvalidInput {
        menu: "account".into(),
        input: "12".into(),
        attempt: 1
    }));
    assert_eq!(r.plays(), ["invalid.wav"]);
}

#[test]
fn a_bound_key_acts_at_once_in_a_menu_with_an_entry() {
    let mut r = Rig::new();
    r.press("3");
    r.prompts_done();
    r.press("*"); // bound to back: not the start of an entry
    assert_eq!(r.s.current_menu(), MenuId(0));
    assert_eq!(r.s.data().path, ["main", "account", "main"]);
}

#[test]
fn back_returns_to_the_previous_menu_and_repeat_replays() {
    let mut r = Rig::new();
    r.press("11"); // main → sales → products
    r.take();
    r.press("#");
    assert_eq!(r.plays(), ["sales.wav"]);
    r.press("#");
    assert_eq!(r.plays(), ["main.wav"]);
    // Back at the first menu replays it.
    r.press("#");
    assert_eq!(r.plays(), ["main.wav"]);
    r.prompts_done();
    r.press("*");
    assert_eq!(r.plays(), ["main.wav"]);
    assert_eq!(
        r.s.data().path,
        ["main", "sales", "products", "sales", "main"]
    );
    // Menus may loop: sales → main by a key, then back goes to sales.
    r.press("10");
    r.take();
    r.press("#");
    assert_eq!(r.plays(), ["sales.wav"]);
}

#[test]
fn repeat_does_not_reset_the_failure_count() {
    let mut r = Rig::new();
    r.prompts_done();
    r.press("7");
    r.prompts_done();
    r.press("*");
    r.prompts_done();
    r.press("7");
    r.prompts_done();
    r.press("7");
    assert_eq!(
        r.done(),
        queue("general", 0),
        "three failures with retries 2"
    );
}

#[test]
fn a_menu_of_depth_four_is_reached_and_recorded() {
    let mut r = Rig::new();
    for (key, menu) in [('1', "sales"), ('1', "products"), ('1', "pricing")] {
        r.prompts_done();
        r.advance(1);
        r.press(&key.to_string());
        assert!(
            r.events()
                .contains(&Event::MenuEntered { menu: menu.into() })
        );
    }
    r.prompts_done();
    r.press("1");
    assert_eq!(r.done(), queue("pricing", 2));
    let d = r.s.data();
    assert_eq!(d.path, ["main", "sales", "products", "pricing"]);
    assert_eq!(d.keys, "1111");
    assert_eq!(d.caller, "13812345678");
}

#[test]
fn an_announcement_goes_on_after_its_prompt() {
    let mut r = Rig::at(tree(), "welcome");
    assert_eq!(r.plays(), ["welcome.wav"]);
    r.press("5"); // barge-in stops it but nothing is bound: invalid
    r.take();
    r.prompts_done();
    assert_eq!(r.plays(), ["main.wav"]);
    assert_eq!(r.s.data().path, ["welcome", "main"]);
}

fn at_lookup() -> Rig {
    let mut r = Rig::new();
    r.press("3");
    r.prompts_done();
    r.press("1234#");
    r.take();
    r
}

#[test]
fn http_answers_branch_and_carry_the_priority() {
    let mut r = at_lookup();
    r.answer(&[("vip", "true"), ("priority", "9"), ("name", "Li Lei")]);
    assert_eq!(r.done(), queue("vip", 9), "the higher of 5 and 9");
    assert!(r.events().contains(&Event::LookupAnswered {
        lookup: "crm".into(),
        branch: Some(0)
    }));
    assert_eq!(r.s.data().answers[0].1.get("name"), Some("Li Lei"));
    assert_eq!(r.s.data().priority, Some(9));

    let mut r = at_lookup();
    r.answer(&[("vip", "true"), ("priority", "1")]);
    assert_eq!(r.done(), queue("vip", 5));

    let mut r = at_lookup();
    r.answer(&[("vip", "true"), ("priority", "high")]);
    assert_eq!(r.done(), queue("vip", 5), "a non-number is no priority");

    let mut r = at_lookup();
    r.answer(&[("status", "blocked")]);
    assert_eq!(
        r.done(),
        Some(Outcome::Hangup {
            cause: HangupCause::Action
        })
    );

    // No branch: default (menu:main); the priority stays with the call.
    let mut r = at_lookup();
    r.answer(&[("vip", "false"), ("priority", "3")]);
    assert!(r.done().is_none());
    assert_eq!(r.plays(), ["main.wav"]);
    r.press("2");
    assert_eq!(r.done(), queue("support", 3));
}

#[test]
fn http_errors_and_timeouts_take_on_error() {
    let mut r = at_lookup();
    let id = r.lookup.unwrap();
    r.input(Input::HttpResult {
        id,
        result: Err(HttpError::Status(500)),
    });
    assert_eq!(r.done(), queue("general", 0));
    assert!(r.events().contains(&Event::LookupFailed {
        lookup: "crm".into(),
        reason: LookupFailure::Error(HttpError::Status(500))
    }));

    let mut r = at_lookup();
    let asked = r.now;
    assert_eq!(r.s.poll_timeout(), Some(asked + Duration::from_secs(3)));
    r.press("5"); // keys are ignored while the lookup is out
    r.advance(2);
    assert!(r.done().is_none());
    r.advance(1);
    assert_eq!(r.done(), queue("general", 0));
    assert!(r.events().contains(&Event::LookupFailed {
        lookup: "crm".into(),
        reason: LookupFailure::TimedOut
    }));
    // The late answer changes nothing.
    r.answer(&[("vip", "true")]);
    assert_eq!(r.done(), queue("general", 0));
}

#[test]
fn a_stale_lookup_answer_is_ignored() {
    let mut cfg = tree();
    cfg.lookups[0].default = act("http:crm"); // no branch: ask again
    let mut r = Rig::at(cfg, "main");
    r.press("3");
    r.prompts_done();
    r.press("1234#");
    let first = r.lookup.unwrap();
    r.answer(&[("x", "y")]);
    let second = r.lookup.unwrap();
    assert_ne!(first, second);
    r.input(Input::HttpResult {
        id: first,
        result: Ok(HttpAnswer::new([("vip", "true")])),
    });
    assert!(r.done().is_none());
    r.input(Input::HttpResult {
        id: second,
        result: Ok(HttpAnswer::new([("vip", "true")])),
    });
    assert_eq!(r.done(), queue("vip", 5));
}

#[test]
fn the_caller_hanging_up_ends_the_session_once() {
    let mut r = Rig::new();
    r.press("3");
    r.prompts_done();
    r.press("12");
    r.input(Input::Hangup);
    assert_eq!(
        r.done(),
        Some(Outcome::Hangup {
            cause: HangupCause::CallerHungUp
        })
    );
    assert_eq!(r.s.poll_timeout(), None);
    r.input(Input::Hangup);
    r.press("1");
    r.advance(100);
    r.done(); // asserts a single Done
    assert_eq!(r.s.data().keys, "312");
}

#[test]
fn misuse_is_refused() {
    let tree = Arc::new(MenuTree::new(tree()).unwrap());
    let mut s = IvrSession::new(tree.clone(), tree.entry(), "1");
    assert_eq!(
        s.handle_input(T0, Input::Digit('1')),
        Err(IvrError::NotStarted)
    );
    assert_eq!(s.handle_input(T0, Input::Start), Ok(()));
    assert_eq!(
        s.handle_input(T0, Input::Start),
        Err(IvrError::AlreadyStarted)
    );
    assert_eq!(
        s.handle_input(T0, Input::Digit('A')),
        Err(IvrError::NotDtmf('A'))
    );

    // A session at a menu the tree lacks ends at Start.
    let mut s = IvrSession::new(tree, MenuId(99), "1");
    s.handle_input(T0, Input::Start).unwrap();
    assert!(matches!(
        s.poll_output(),
        Some(Output::Done(Outcome::Hangup {
            cause: HangupCause::NoSuchMenu
        }))
    ));
}

#[test]
fn back_as_exhaust_action_at_the_first_menu_releases() {
    let mut cfg = tree();
    cfg.menus[0].timeout_action = act("back");
    cfg.menus[0].retries = 0;
    let mut r = Rig::at(cfg.clone(), "main");
    r.prompts_done();
    r.expire();
    assert_eq!(
        r.done(),
        Some(Outcome::Hangup {
            cause: HangupCause::RetriesExhausted
        })
    );
    // Deeper, it goes back.
    let mut r = Rig::at(cfg, "main");
    r.press("1");
    r.prompts_done();
    r.take();
    r.press("5"); // sales: retries 3, default timeout action hangup
    assert!(r.done().is_none());
}

#[test]
fn priority_fields_parse_leniently() {
    assert_eq!(parse_priority("7"), Some(7));
    assert_eq!(parse_priority(" 7.0 "), Some(7));
    assert_eq!(parse_priority("300"), Some(255));
    assert_eq!(parse_priority("-1"), Some(0));
    assert_eq!(parse_priority("7.5"), None);
    assert_eq!(parse_priority("NaN"), None);
    assert_eq!(parse_priority(""), None);
}

fn refused(cfg: &IvrConfig) -> String {
    match MenuTree::new(cfg.clone()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn validation_names_the_field() {
    assert!(
        MenuTree::new(IvrConfig::default()).is_ok(),
        "no IVR is fine"
    );
    type Edit = Box<dyn Fn(&mut IvrConfig)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|c| c.menus[1].digits.push(('5', act("menu:billing")))),
            "menus[1].digits[\"5\"]: no menu named \"billing\"",
        ),
        (
            Box::new(|c| c.menus[0].digits.push(('2', act("hangup")))),
            "menus[0].digits[\"2\"]: the key is bound twice",
        ),
        (
            Box::new(|c| c.menus[0].digits.push(('x', act("hangup")))),
            "menus[0].digits[\"x\"]: 'x' is not a DTMF key 0-9, * or #",
        ),
        (
            Box::new(|c| c.menus[0].name = "start".into()),
            "menus: no entry menu",
        ),
        (
            Box::new(|c| {
                c.menus[1].entry = true;
                c.menus[2].entry = true;
            }),
            "menus[2].entry: \"sales\" is already the entry menu",
        ),
        (
            Box::new(|c| c.menus[2].name = "sales".into()),
            "menus[2].name: \"sales\" is defined twice",
        ),
        (
            Box::new(|c| c.menus[4].collect.as_mut().unwrap().then = act("http:erp")),
            "menus[4].collect.then: no http_lookup named \"erp\"",
        ),
        (
            Box::new(|c| c.menus[4].collect.as_mut().unwrap().min = 7),
            "menus[4].collect.min: 7 is not from 1 to max (6)",
        ),
        (
            Box::new(|c| c.menus[4].collect.as_mut().unwrap().max = 40),
            "menus[4].collect.max: 40 is above 32",
        ),
        (
            Box::new(|c| c.menus[0].timeout_action = act("repeat")),
            "menus[0].timeout_action: repeat would replay",
        ),
        (
            Box::new(|c| c.menus[0].timeout_action = act("transfer:ivr:nowhere")),
            "menus[0].timeout_action: no menu named \"nowhere\"",
        ),
        (
            Box::new(|c| c.menus[0].first_digit_timeout = Duration::ZERO),
            "menus[0].first_digit_timeout: 0ns is not from 1s to 120s",
        ),
        (
            Box::new(|c| c.menus[0].inter_digit_timeout = Duration::from_secs(61)),
            "menus[0].inter_digit_timeout: 61s is not from 1s to 60s",
        ),
        (
            Box::new(|c| c.menus[0].retries = 11),
            "menus[0].retries: 11 is above 10",
        ),
        (
            Box::new(|c| c.menus[0].prompt = " ".into()),
            "menus[0].prompt: must not be empty",
        ),
        (
            Box::new(|c| c.lookups[0].on[1].then = act("back")),
            "lookups[0].on[1].then: an HTTP answer leads to a menu or a final action",
        ),
        (
            Box::new(|c| c.lookups[0].default = act("menu:gone")),
            "lookups[0].default: no menu named \"gone\"",
        ),
        (
            Box::new(|c| c.lookups[0].url = "ftp://x".into()),
            "lookups[0].url: \"ftp://x\" is not an http:// or https:// URL",
        ),
        (
            Box::new(|c| c.lookups[0].timeout = Duration::ZERO),
            "lookups[0].timeout: 0ns is not from 100ms to 60s",
        ),
        (
            Box::new(|c| {
                let l = c.lookups[0].clone();
                c.lookups.push(l);
            }),
            "lookups[1].name: \"crm\" is defined twice",
        ),
    ];
    for (edit, want) in cases {
        let mut cfg = tree();
        edit(&mut cfg);
        let got = refused(&cfg);
        assert!(got.starts_with(want), "got  {got}\nwant {want}");
    }
    // Loops are fine; references are what must exist.
    let mut cfg = tree();
    cfg.menus[2].digits.push(('0', act("menu:main")));
    cfg.menus[5].timeout_action = act("repeat"); // an announcement loop
    assert!(MenuTree::new(cfg).is_ok());
}
