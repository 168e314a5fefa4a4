//! A caller walks a bank's three-level menu tree in virtual time, the way
//! the gateway drives a session: prompts that end by themselves, keys
//! that barge in, a wrong key, silence, an account number checked by an
//! HTTP lookup, and a VIP answer that puts the call at the head of a
//! queue with the whole walk recorded for the agent.

use std::sync::Arc;
use std::time::Duration;

use tandem_callcenter::Timestamp;
use tandem_callcenter::ivr::{
    Action, BranchConfig, CollectConfig, Event, HangupCause, HttpAnswer, HttpLookupConfig, Input,
    IvrConfig, IvrSession, MenuConfig, MenuTree, Outcome, Output,
};

fn act(s: &str) -> Action {
    Action::parse(s).unwrap()
}

fn bank() -> IvrConfig {
    let mut main = MenuConfig::new("main", "prompts/main.wav");
    main.entry = true;
    main.digits = vec![
        ('1', act("menu:cards")),
        ('2', act("menu:loans")),
        ('0', act("queue:general")),
        ('*', act("repeat")),
    ];
    main.invalid_prompt = Some("prompts/invalid.wav".into());
    main.timeout_prompt = Some("prompts/timeout.wav".into());
    main.timeout_action = act("queue:general");

    let mut cards = MenuConfig::new("cards", "prompts/cards.wav");
    cards.digits = vec![
        ('1', act("menu:lost-card")),
        ('2', act("menu:card-account")),
        ('#', act("back")),
    ];
    let mut lost = MenuConfig::new("lost-card", "prompts/lost.wav");
    lost.digits = vec![('1', act("transfer:number:95588")), ('#', act("back"))];
    let mut account = MenuConfig::new("card-account", "prompts/account.wav");
    account.collect = Some(CollectConfig {
        min: 6,
        max: 8,
        terminator: Some('#'),
        then: act("http:crm"),
    });
    account.digits = vec![('*', act("back"))];
    account.invalid_prompt = Some("prompts/invalid.wav".into());
    let mut loans = MenuConfig::new("loans", "prompts/loans.wav");
    loans.digits = vec![('1', act("voicemail:loans")), ('#', act("back"))];

    let mut crm = HttpLookupConfig::new("crm", "https://crm.bank.example/ivr", act("menu:main"));
    crm.on = vec![BranchConfig {
        field: "tier".into(),
        equals: "gold".into(),
        then: act("queue:cards;priority=5"),
    }];
    crm.set_priority_from = Some("priority".into());
    crm.on_error = act("queue:cards");
    IvrConfig {
        menus: vec![main, cards, lost, account, loans],
        lookups: vec![crm],
    }
}

/// The gateway's side: plays prompts for a fixed length, keys digits,
/// answers lookups, and follows the session's deadlines.
struct Gateway {
    ivr: IvrSession,
    now: Timestamp,
    playing: Option<(tandem_callcenter::ivr::PromptId, Timestamp)>,
    log: Vec<Output>,
}

const PROMPT: Duration = Duration::from_secs(4);

impl Gateway {
    fn new() -> Gateway {
        let tree = Arc::new(MenuTree::new(bank()).unwrap_or_else(|e| panic!("{e}")));
        let mut g = Gateway {
            ivr: IvrSession::new(tree.clone(), tree.entry(), "13912345678"),
            now: Timestamp::from_secs(1_800_000_000),
            playing: None,
            log: Vec::new(),
        };
        g.input(Input::Start);
        g
    }

    fn input(&mut self, i: Input) {
        self.ivr.handle_input(self.now, i).unwrap();
        while let Some(o) = self.ivr.poll_output() {
            match &o {
                Output::Play { id, .. } => self.playing = Some((*id, self.now + PROMPT)),
                Output::StopPrompt => self.playing = None,
                _ => {}
            }
            self.log.push(o);
        }
    }

    /// Lets `secs` pass: prompts end, deadlines fire, in time order.
    fn wait(&mut self, secs: u64) {
        let until = self.now + Duration::from_secs(secs);
        loop {
            let prompt_end = self.playing.map(|(_, t)| t);
            let deadline = self.ivr.poll_timeout();
            let next = [prompt_end, deadline].into_iter().flatten().min();
            match next {
                Some(t) if t <= until => {
                    self.now = t;
                    if prompt_end == Some(t) {
                        let (id, _) = self.playing.take().unwrap();
                        self.input(Input::PromptDone { id });
                    } else {
                        self.ivr.handle_timeout(t);
                        self.input_none();
                    }
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn input_none(&mut self) {
        while let Some(o) = self.ivr.poll_output() {
            if let Output::Play { id, .. } = &o {
                self.playing = Some((*id, self.now + PROMPT));
            }
            self.log.push(o);
        }
    }

    fn press(&mut self, keys: &str) {
        for c in keys.chars() {
            self.input(Input::Digit(c));
            self.wait(1);
        }
    }

    fn played(&self) -> Vec<&str> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Play { prompt, .. } => Some(prompt.as_str()),
                _ => None,
            })
            .collect()
    }

    fn outcome(&self) -> Option<&Outcome> {
        self.log.iter().find_map(|o| match o {
            Output::Done(d) => Some(d),
            _ => None,
        })
    }
}

#[test]
fn a_gold_customer_walks_three_levels_and_jumps_the_queue() {
    let mut g = Gateway::new();
    g.wait(10); // main.wav ends at 4 s; silence until 9 s: no input
    assert!(g.log.contains(&Output::Event(Event::NoInput {
        menu: "main".into(),
        attempt: 1
    })));
    g.press("7"); // during timeout.wav: barge-in, invalid
    g.wait(5);
    g.press("1"); // cards, after main.wav ended
    g.wait(5);
    g.press("2"); // card-account
    g.press("1234"); // keyed while account.wav plays: barge-in
    g.wait(1); // 2 s since the last key: within the inter-digit timeout
    g.press("5678#"); // the 8th key ends the entry: "#" finds the lookup out
    let Some(Output::HttpLookup {
        id, digits, path, ..
    }) = g
        .log
        .iter()
        .rev()
        .find(|o| matches!(o, Output::HttpLookup { .. }))
        .cloned()
    else {
        panic!("no lookup: {:#?}", g.log)
    };
    assert_eq!(digits, "12345678");
    assert_eq!(path, ["main", "cards", "card-account"]);
    g.input(Input::HttpResult {
        id,
        result: Ok(HttpAnswer::new([
            ("tier", "gold"),
            ("priority", "8"),
            ("name", "Han Meimei"),
        ])),
    });
    assert_eq!(
        g.outcome(),
        Some(&Outcome::Queue {
            name: "cards".into(),
            priority: 8
        })
    );
    assert_eq!(
        g.played(),
        [
            "prompts/main.wav",
            "prompts/timeout.wav",
            "prompts/invalid.wav",
            "prompts/main.wav",
            "prompts/cards.wav",
            "prompts/account.wav"
        ]
    );
    let data = g.ivr.data();
    assert_eq!(data.path, ["main", "cards", "card-account"]);
    assert_eq!(
        data.keys, "71212345678",
        "the invalid 7 too; not the ignored #"
    );
    assert_eq!(data.entries[0].digits, "12345678");
    assert_eq!(data.answers[0].1.get("name"), Some("Han Meimei"));
    assert_eq!(g.ivr.poll_timeout(), None);
}

#[test]
fn a_caller_goes_deep_comes_back_and_takes_another_branch() {
    let mut g = Gateway::new();
    g.press("1"); // cards
    g.press("1"); // lost-card
    g.press("#"); // back to cards
    g.press("#"); // back to main
    g.press("2"); // loans
    g.press("1"); // voicemail
    assert_eq!(
        g.outcome(),
        Some(&Outcome::Voicemail {
            mailbox: "loans".into()
        })
    );
    assert_eq!(
        g.ivr.data().path,
        ["main", "cards", "lost-card", "cards", "main", "loans"]
    );
}

#[test]
fn a_silent_line_ends_in_the_timeout_action_and_a_hangup_is_final() {
    let mut g = Gateway::new();
    g.wait(120);
    // main.wav, then three times timeout.wav + main.wav (retries 3), then
    // the timeout action.
    assert_eq!(g.played().len(), 1 + 3 * 2);
    assert_eq!(
        g.outcome(),
        Some(&Outcome::Queue {
            name: "general".into(),
            priority: 0
        })
    );

    let mut g = Gateway::new();
    g.press("12");
    g.input(Input::Hangup);
    assert_eq!(
        g.outcome(),
        Some(&Outcome::Hangup {
            cause: HangupCause::CallerHungUp
        })
    );
    g.wait(60);
    assert_eq!(
        g.log
            .iter()
            .filter(|o| matches!(o, Output::Done(_)))
            .count(),
        1
    );
}

#[test]
fn a_crm_outage_sends_account_holders_to_the_cards_queue() {
    let mut g = Gateway::new();
    g.press("12");
    g.wait(5);
    g.press("123456#");
    g.wait(3); // no answer within the lookup's 3 s
    assert_eq!(
        g.outcome(),
        Some(&Outcome::Queue {
            name: "cards".into(),
            priority: 0
        })
    );
}
