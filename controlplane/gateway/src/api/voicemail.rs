//! `/api/voicemail`: the voicemail boxes and their messages — list the
//! boxes with their counts, list a box's messages, fetch a message's audio
//! (`audio/wav`, the caller on the left channel), mark it heard, delete it
//! (its file too). Deleting and marking heard are changes, recorded in the
//! audit log (`voicemail.delete`, `voicemail.heard`).
//!
//! The API opens its own [`VoicemailStore`] on the call-record database,
//! lazily at the first voicemail request (so a gateway without boxes never
//! creates the messages' directory), next to the one the B2BUA records
//! with; SQLite serialises the two. A store that cannot be opened is a 503
//! naming the file, tried again at the next request. Without configured
//! boxes the store is not opened: the list is empty and every box is 404.

use std::path::PathBuf;

use super::json::{Value, object};
use super::{ApiError, Change, Ctx, Outcome};
use crate::cdr::Synchronous;
use crate::config::{Config, VoicemailBox};
use crate::http::Response;
use crate::voicemail::{Message, MessageId, VoicemailError, VoicemailStore, rfc3339};

/// What a voicemail route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /api/voicemail`.
    Boxes,
    /// `GET /api/voicemail/{box}`.
    Messages,
    /// `GET /api/voicemail/{box}/{id}.wav`.
    Audio,
    /// `DELETE /api/voicemail/{box}/{id}`.
    Delete,
    /// `POST /api/voicemail/{box}/{id}/heard`.
    Heard,
}

impl Route {
    /// Whether the route changes something (audited, refused without an
    /// audit log).
    pub(crate) fn changes(self) -> bool {
        matches!(self, Route::Delete | Route::Heard)
    }
}

/// What the store is opened from.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    db: PathBuf,
    sync: Synchronous,
    dir: PathBuf,
    boxes: Vec<VoicemailBox>,
    url_base: Option<String>,
    utc_offset_minutes: i32,
}

/// The API's voicemail state: the configuration's boxes and, once
/// needed, the store.
#[derive(Debug, Default)]
pub(crate) struct Mailboxes {
    settings: Option<Settings>,
    store: Option<VoicemailStore>,
}

impl Mailboxes {
    /// Takes the boxes and paths of `config` (at start and after a
    /// reload); a store open on another database or directory is closed,
    /// to be reopened when next needed.
    pub(crate) fn configure(&mut self, config: &Config) {
        let cc = &config.callcenter;
        let s = Settings {
            db: config.cdr.database.clone(),
            sync: config.cdr.synchronous,
            dir: cc.voicemail_dir.clone(),
            boxes: cc.voicemail.clone(),
            url_base: config.http.listen.map(|a| format!("http://{a}")),
            utc_offset_minutes: cc.utc_offset_minutes,
        };
        if let Some(store) = self.store.as_mut() {
            if store.dir() == s.dir.as_path()
                && self.settings.as_ref().is_some_and(|o| o.db == s.db)
            {
                store.configure(s.boxes.clone(), s.url_base.clone(), s.utc_offset_minutes);
            } else {
                self.store = None;
            }
        }
        self.settings = Some(s);
    }

    /// Uses `store` instead of opening one (tests).
    #[cfg(test)]
    pub(crate) fn set_store(&mut self, store: VoicemailStore) {
        self.settings = Some(Settings {
            db: PathBuf::new(),
            sync: Synchronous::Normal,
            dir: store.dir().to_path_buf(),
            boxes: store.configured_boxes().to_vec(),
            url_base: None,
            utc_offset_minutes: 0,
        });
        self.store = Some(store);
    }

    /// The store, opened if needed; `None` when no box is configured.
    fn store(&mut self) -> Result<Option<&mut VoicemailStore>, ApiError> {
        let Some(s) = self.settings.as_ref() else {
            return Ok(None);
        };
        if self.store.is_none() {
            if s.boxes.is_empty() {
                return Ok(None);
            }
            let mut store = VoicemailStore::open(&s.db, &s.dir, s.sync).map_err(|e| ApiError {
                status: 503,
                message: format!("the voicemail store cannot be opened: {e}"),
            })?;
            store.configure(s.boxes.clone(), s.url_base.clone(), s.utc_offset_minutes);
            self.store = Some(store);
        }
        Ok(self.store.as_mut())
    }

    /// The utc offset for the `received` times.
    fn utc_offset(&self) -> i32 {
        self.settings.as_ref().map_or(0, |s| s.utc_offset_minutes)
    }
}

/// A handler's answer: JSON (with the change made), or a finished
/// response (the audio).
pub(crate) enum Answer {
    /// A JSON answer, through the API's audit and error handling.
    Json(Outcome),
    /// A response to send as is.
    Raw(Response),
}

/// Answers a voicemail route.
pub(crate) fn handle(state: &mut Mailboxes, route: Route, ctx: &mut Ctx<'_>) -> Answer {
    let outcome = match route {
        Route::Boxes => boxes(state),
        Route::Messages => messages(state, ctx),
        Route::Delete => delete(state, ctx),
        Route::Heard => heard(state, ctx),
        Route::Audio => {
            return match audio(state, ctx) {
                Ok(r) => Answer::Raw(r),
                Err(e) => Answer::Json(Err(e)),
            };
        }
    };
    Answer::Json(outcome)
}

fn internal(e: VoicemailError) -> ApiError {
    ApiError {
        status: 500,
        message: e.to_string(),
    }
}

/// A message as the API shows it.
fn message_json(m: &Message, utc_offset: i32) -> Value {
    object([
        ("id", Value::from(m.id.0)),
        ("box", Value::from(m.mailbox.as_str())),
        ("caller", Value::from(m.caller.as_str())),
        ("number", Value::from(m.number.as_str())),
        ("received_ms", Value::from(m.received_ms)),
        ("received", Value::from(rfc3339(m.received_ms, utc_offset))),
        ("duration_s", Value::from(m.duration_ms as f64 / 1000.0)),
        ("heard", Value::from(m.heard)),
        ("caller_channel", Value::from(m.caller_channel.as_str())),
        (
            "audio",
            Value::from(format!("/api/voicemail/{}/{}.wav", m.mailbox, m.id)),
        ),
    ])
}

/// `GET /api/voicemail`.
fn boxes(state: &mut Mailboxes) -> Outcome {
    let Some(store) = state.store()? else {
        return Ok((object([("boxes", Value::Array(Vec::new()))]), None));
    };
    let items = store
        .boxes()
        .map_err(internal)?
        .into_iter()
        .map(|b| {
            object([
                ("name", Value::from(b.name)),
                ("configured", Value::from(b.configured)),
                ("messages", Value::from(b.messages)),
                ("unheard", Value::from(b.unheard)),
            ])
        })
        .collect();
    Ok((object([("boxes", Value::Array(items))]), None))
}

fn no_box(name: &str) -> ApiError {
    ApiError::not_found(format!("no voicemail box named {name:?}"))
}

/// `GET /api/voicemail/{box}`: 404 for a box neither configured nor
/// holding messages.
fn messages(state: &mut Mailboxes, ctx: &Ctx<'_>) -> Outcome {
    let name = ctx.param(0);
    let offset = state.utc_offset();
    let store = state.store()?.ok_or_else(|| no_box(name))?;
    let list = store.list(name).map_err(internal)?;
    if list.is_empty() && !store.configured_boxes().iter().any(|b| b.name == name) {
        return Err(no_box(name));
    }
    let items = list.iter().map(|m| message_json(m, offset)).collect();
    Ok((
        object([
            ("box", Value::from(name)),
            ("messages", Value::Array(items)),
        ]),
        None,
    ))
}

/// The message `{id}` of box `{box}`, 404 if there is none.
fn find(state: &mut Mailboxes, ctx: &Ctx<'_>) -> Result<Message, ApiError> {
    let (name, id) = (ctx.param(0), ctx.param(1));
    let missing = || ApiError::not_found(format!("no message {id:?} in voicemail box {name:?}"));
    let id = id
        .parse::<u64>()
        .ok()
        .filter(|_| id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(missing)?;
    let store = state.store()?.ok_or_else(|| no_box(name))?;
    match store.get(MessageId(id)).map_err(internal)? {
        Some(m) if m.mailbox == name => Ok(m),
        _ => Err(missing()),
    }
}

/// `GET /api/voicemail/{box}/{id}.wav`: the file as recorded.
fn audio(state: &mut Mailboxes, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let m = find(state, ctx)?;
    let bytes = std::fs::read(&m.path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ApiError::not_found(format!(
            "message {} of voicemail box {:?} has lost its file {}",
            m.id,
            m.mailbox,
            m.path.display()
        )),
        _ => ApiError {
            status: 500,
            message: format!("{}: {e}", m.path.display()),
        },
    })?;
    Ok(Response::new(200, "audio/wav", bytes).with_header(
        "Content-Disposition",
        &format!("inline; filename=\"{}-{}.wav\"", m.mailbox, m.id),
    ))
}

/// What the audit log keeps of a message.
fn detail(m: &Message) -> Value {
    object([
        ("id", Value::from(m.id.0)),
        ("caller", Value::from(m.caller.as_str())),
        ("received_ms", Value::from(m.received_ms)),
    ])
}

/// `DELETE /api/voicemail/{box}/{id}`: the message as it was.
fn delete(state: &mut Mailboxes, ctx: &Ctx<'_>) -> Outcome {
    let m = find(state, ctx)?;
    let offset = state.utc_offset();
    let store = state.store()?.ok_or_else(|| no_box(&m.mailbox))?;
    let gone = store
        .delete(m.id)
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(format!("no message {}", m.id)))?;
    let change = Change {
        action: "voicemail.delete",
        target: format!("voicemail:{}", gone.mailbox),
        detail: detail(&gone),
    };
    Ok((message_json(&gone, offset), Some(change)))
}

/// `POST /api/voicemail/{box}/{id}/heard`: the message after the change
/// (audited only when it was unheard). The body is empty or `{}`.
fn heard(state: &mut Mailboxes, ctx: &Ctx<'_>) -> Outcome {
    let body = &ctx.request.body;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v = Value::parse(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if v.as_object().is_none_or(|o| !o.is_empty()) {
            return Err(ApiError::bad_request(
                "expected no body or an empty JSON object",
            ));
        }
    }
    let m = find(state, ctx)?;
    let offset = state.utc_offset();
    if m.heard {
        return Ok((message_json(&m, offset), None));
    }
    let store = state.store()?.ok_or_else(|| no_box(&m.mailbox))?;
    let now = store
        .mark_heard(m.id)
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(format!("no message {}", m.id)))?;
    let change = Change {
        action: "voicemail.heard",
        target: format!("voicemail:{}", now.mailbox),
        detail: detail(&now),
    };
    Ok((message_json(&now, offset), Some(change)))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::{Api, Request};
    use super::*;
    use crate::voicemail::json_text;
    use crate::voicemail::tests::{record, scratch, store};

    const CONFIG: &str = r#"
[cdr]
database = "cdr.sqlite"
[api]
tokens = [
    { name = "sup", token = "supervisor-token-0123", role = "supervisor" },
    { name = "board", token = "read-token-0123456789" },
]
"#;
    const SUP: &str = "supervisor-token-0123";
    const READ: &str = "read-token-0123456789";

    fn call(api: &mut Api, method: &str, path: &str, token: &str) -> Response {
        let request = Request {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: vec![("authorization".into(), format!("Bearer {token}"))],
            body: Vec::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
        };
        api.handle(None, Instant::now(), &request)
    }

    fn json(r: &Response) -> Value {
        Value::parse(&r.body).unwrap_or_else(|e| panic!("{e}: {:?}", r.body))
    }

    #[test]
    fn boxes_messages_audio_heard_and_delete() {
        let dir = scratch("api");
        let config = Config::from_toml(CONFIG, "t.toml", &dir).unwrap();
        let mut api = Api::new(&config).unwrap();
        let mut s = store(&dir, None);
        let a = record(&mut s, "sales", "13800000001", 1_800_000_005_250, 12_480).unwrap();
        let b = record(&mut s, "sales", "13800000002", 1_800_000_100_000, 3_000).unwrap();
        std::fs::write(s.get(a).unwrap().unwrap().path, b"RIFF-a").unwrap();
        api.voicemail.set_store(s);

        let r = call(&mut api, "GET", "/api/voicemail", READ);
        assert_eq!(r.status, 200);
        assert_eq!(
            json_text(&json(&r)),
            r#"{"boxes":[{"name":"sales","configured":true,"messages":2,"unheard":2},{"name":"support","configured":true,"messages":0,"unheard":0}]}"#
        );
        let r = call(&mut api, "GET", "/api/voicemail/sales", READ);
        assert_eq!(r.status, 200);
        let v = json(&r);
        let list = v.get("messages").and_then(Value::as_array).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].get("id"), Some(&Value::from(b.0)));
        let first = &list[1];
        assert_eq!(
            first.get("received").and_then(Value::as_str),
            Some("2027-01-15T08:00:05Z")
        );
        assert_eq!(first.get("duration_s"), Some(&Value::from(12.48)));
        assert_eq!(
            first.get("audio").and_then(Value::as_str),
            Some(format!("/api/voicemail/sales/{a}.wav").as_str())
        );
        assert_eq!(
            call(&mut api, "GET", "/api/voicemail/support", READ).status,
            200
        );
        assert_eq!(
            call(&mut api, "GET", "/api/voicemail/nobox", READ).status,
            404
        );

        let r = call(
            &mut api,
            "GET",
            &format!("/api/voicemail/sales/{a}.wav"),
            READ,
        );
        assert_eq!((r.status, r.content_type.as_str()), (200, "audio/wav"));
        assert_eq!(r.body, b"RIFF-a");
        for bad in [
            format!("/api/voicemail/support/{a}.wav"),
            "/api/voicemail/sales/999.wav".to_string(),
            "/api/voicemail/sales/x.wav".to_string(),
            "/api/voicemail/sales/+1.wav".to_string(),
            "/api/voicemail/sales/.wav".to_string(),
            "/api/voicemail/sales/99999999999999999999999.wav".to_string(),
        ] {
            let r = call(&mut api, "GET", &bad, READ);
            assert!((400..500).contains(&r.status), "{bad}: {}", r.status);
            assert!(json(&r).get("error").is_some());
        }
        // The audio path without .wav is the message: only DELETE there.
        assert_eq!(
            call(&mut api, "GET", &format!("/api/voicemail/sales/{a}"), READ).status,
            405
        );

        // Changes need a supervisor, and are audited.
        let heard = format!("/api/voicemail/sales/{a}/heard");
        assert_eq!(call(&mut api, "POST", &heard, READ).status, 403);
        let r = call(&mut api, "POST", &heard, SUP);
        assert_eq!(r.status, 200);
        assert_eq!(json(&r).get("heard"), Some(&Value::Bool(true)));
        assert_eq!(call(&mut api, "POST", &heard, SUP).status, 200);
        let del = format!("/api/voicemail/sales/{a}");
        assert_eq!(call(&mut api, "DELETE", &del, READ).status, 403);
        let path = api
            .voicemail
            .store
            .as_mut()
            .unwrap()
            .get(a)
            .unwrap()
            .unwrap()
            .path;
        let r = call(&mut api, "DELETE", &del, SUP);
        assert_eq!(r.status, 200);
        assert!(!path.exists(), "the file goes with the message");
        assert_eq!(call(&mut api, "DELETE", &del, SUP).status, 404);
        assert_eq!(
            call(
                &mut api,
                "GET",
                &format!("/api/voicemail/sales/{a}.wav"),
                READ
            )
            .status,
            404
        );
        let r = call(&mut api, "GET", "/api/audit", SUP);
        let v = json(&r);
        let entries = v.get("entries").and_then(Value::as_array).unwrap();
        let actions: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| {
                (
                    e.get("action").and_then(Value::as_str).unwrap_or(""),
                    e.get("target").and_then(Value::as_str).unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                ("voicemail.delete", "voicemail:sales"),
                ("voicemail.heard", "voicemail:sales")
            ],
            "marking a heard message again changes nothing"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_boxes_the_list_is_empty_and_nothing_is_created() {
        let dir = scratch("api-empty");
        let config = Config::from_toml(CONFIG, "t.toml", &dir).unwrap();
        let mut api = Api::new(&config).unwrap();
        let r = call(&mut api, "GET", "/api/voicemail", READ);
        assert_eq!(
            (r.status, json_text(&json(&r))),
            (200, r#"{"boxes":[]}"#.into())
        );
        assert_eq!(
            call(&mut api, "GET", "/api/voicemail/sales", READ).status,
            404
        );
        assert_eq!(
            call(&mut api, "DELETE", "/api/voicemail/sales/1", SUP).status,
            404
        );
        assert!(!dir.join("voicemail").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_store_is_opened_from_the_config_when_first_needed() {
        let dir = scratch("api-lazy");
        std::fs::write(dir.join("hello.wav"), b"RIFF").unwrap();
        let text = format!(
            "{CONFIG}[callcenter]\nvoicemail_dir = \"vm\"\n[[voicemail]]\nname = \"sales\"\ngreeting = \"hello.wav\"\n"
        );
        let config = Config::from_toml(&text, "t.toml", &dir).unwrap();
        let mut api = Api::new(&config).unwrap();
        assert!(!dir.join("vm").exists());
        let r = call(&mut api, "GET", "/api/voicemail", READ);
        assert_eq!(r.status, 200);
        assert_eq!(
            json_text(&json(&r)),
            r#"{"boxes":[{"name":"sales","configured":true,"messages":0,"unheard":0}]}"#
        );
        assert!(dir.join("vm").is_dir());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
