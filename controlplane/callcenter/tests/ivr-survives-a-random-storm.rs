//! A seeded storm of keys, prompt ends (current and stale), lookup
//! answers (current, stale, failed) and jumps in time against IVR
//! sessions: no panic, a session never outputs after Done, deadlines only
//! move forward, and every session ends with exactly one Done once the
//! caller hangs up.

use std::sync::Arc;
use std::time::Duration;

use tandem_callcenter::Timestamp;
use tandem_callcenter::ivr::{
    Action, BranchConfig, CollectConfig, HttpAnswer, HttpError, HttpLookupConfig, Input, IvrConfig,
    IvrSession, LookupId, MenuConfig, MenuTree, Output, PromptId,
};

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn act(s: &str) -> Action {
    Action::parse(s).unwrap()
}

fn tree() -> IvrConfig {
    let names = ["main", "a", "b", "c", "d"];
    let mut menus = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut m = MenuConfig::new(*name, format!("{name}.wav"));
        m.entry = i == 0;
        m.digits = vec![
            ('1', act(&format!("menu:{}", names[(i + 1) % 5]))),
            ('2', act(&format!("menu:{}", names[(i + 3) % 5]))),
            ('3', act("http:crm")),
            ('*', act("repeat")),
            ('#', act("back")),
        ];
        if i == 4 {
            m.digits.push(('9', act("queue:q;priority=1")));
        }
        if i % 2 == 0 {
            m.collect = Some(CollectConfig {
                min: 2,
                max: 5,
                terminator: Some('#'),
                then: act(if i == 0 { "http:crm" } else { "menu:main" }),
            });
            m.barge_in = i != 2;
        }
        m.retries = (i % 3) as u32;
        m.invalid_prompt = (i % 2 == 1).then(|| "invalid.wav".into());
        m.timeout_action = act(["back", "menu:a", "hangup", "queue:q", "voicemail:v"][i]);
        menus.push(m);
    }
    let mut announce = MenuConfig::new("news", "news.wav");
    announce.timeout_action = act("menu:main");
    menus[1].digits.push(('0', act("menu:news")));
    menus.push(announce);
    let mut crm = HttpLookupConfig::new("crm", "http://127.0.0.1:1/x", act("menu:b"));
    crm.on = vec![BranchConfig {
        field: "go".into(),
        equals: "vip".into(),
        then: act("queue:vip"),
    }];
    crm.set_priority_from = Some("p".into());
    crm.on_error = act("http:crm");
    IvrConfig {
        menus,
        lookups: vec![crm],
    }
}

#[test]
fn random_inputs_never_break_a_session() {
    let tree = Arc::new(MenuTree::new(tree()).unwrap_or_else(|e| panic!("{e}")));
    let mut dones = 0;
    let mut ended_by_the_menus = 0;
    for seed in 1..=300u64 {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D ^ seed.wrapping_mul(0x9E37_79B9));
        let start = tree.menu_id(["main", "a", "b", "c", "d", "news"][(seed % 6) as usize]);
        let mut s = IvrSession::new(tree.clone(), start.unwrap(), "13800000000");
        let mut now = Timestamp::from_secs(1_800_000_000);
        let mut prompts: Vec<PromptId> = vec![PromptId(0)];
        let mut lookups: Vec<LookupId> = vec![LookupId(0)];
        let mut done = 0;
        let mut started = false;
        let steps = 50 + rng.below(400);
        for step in 0..=steps {
            let input = if step == steps {
                ended_by_the_menus += u32::from(done > 0);
                Input::Hangup
            } else {
                match rng.below(12) {
                    0 => Input::Start,
                    1..=4 => Input::Digit(
                        ['1', '2', '3', '4', '5', '9', '0', '*', '#', 'x'][rng.below(10) as usize],
                    ),
                    5..=7 => {
                        // Mostly the latest prompt, sometimes a stale one.
                        let i = if rng.below(4) == 0 {
                            rng.below(prompts.len() as u64) as usize
                        } else {
                            prompts.len() - 1
                        };
                        Input::PromptDone { id: prompts[i] }
                    }
                    8 => {
                        let i = if rng.below(4) == 0 {
                            rng.below(lookups.len() as u64) as usize
                        } else {
                            lookups.len() - 1
                        };
                        let result = match rng.below(4) {
                            0 => Err(HttpError::Transport("reset".into())),
                            1 => Ok(HttpAnswer::new([("go", "vip"), ("p", "7")])),
                            _ => Ok(HttpAnswer::new([("p", "x")])),
                        };
                        Input::HttpResult {
                            id: lookups[i],
                            result,
                        }
                    }
                    9 if rng.below(20) == 0 => Input::Hangup,
                    _ => {
                        // Time passes; run whatever is due.
                        let before = s.poll_timeout();
                        now = now + Duration::from_millis(rng.below(8000));
                        s.handle_timeout(now);
                        if let (Some(b), Some(a)) = (before, s.poll_timeout()) {
                            assert!(b > now || a >= b, "a deadline moved back");
                        }
                        drain(&mut s, &mut prompts, &mut lookups, &mut done);
                        continue;
                    }
                }
            };
            let was_started = started;
            let is_start = input == Input::Start;
            let r = s.handle_input(now, input);
            if is_start && !was_started && r.is_ok() {
                started = true;
            }
            if done > 0 {
                assert!(s.poll_output().is_none(), "output after Done (seed {seed})");
                assert_eq!(s.poll_timeout(), None);
            }
            drain(&mut s, &mut prompts, &mut lookups, &mut done);
            if let Some(t) = s.poll_timeout() {
                assert!(t >= now, "deadline in the past");
            }
        }
        assert!(s.is_done(), "seed {seed}: not done after the hangup");
        assert_eq!(done, 1, "seed {seed}: {done} Done outputs");
        assert!(s.data().path.len() <= tandem_callcenter::ivr::MAX_PATH);
        dones += done;
    }
    assert_eq!(dones, 300);
    // The storm reaches the menus' own outcomes, not only the hangup.
    assert!(ended_by_the_menus > 100, "{ended_by_the_menus}");
}

fn drain(
    s: &mut IvrSession,
    prompts: &mut Vec<PromptId>,
    lookups: &mut Vec<LookupId>,
    done: &mut u32,
) {
    while let Some(o) = s.poll_output() {
        assert_eq!(*done, 0, "output after Done: {o:?}");
        match o {
            Output::Play { id, .. } => prompts.push(id),
            Output::HttpLookup { id, .. } => lookups.push(id),
            Output::Done(_) => *done += 1,
            _ => {}
        }
    }
}
