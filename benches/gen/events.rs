//! Input (c), [`Kind::Events`](super::Kind::Events): GitHub-Archive-like events.
//!
//! Lines of about 0.2 to 20 KiB. Each line is an object with the keys `id`, `type`, `actor`,
//! `repo`, `public`, `created_at`, sometimes `org`, and `payload`, in a different order on each
//! line: the keys before `payload` are shuffled, `payload` comes last on three lines in four,
//! and on one line in eight `type` comes after everything else. About half the lines are
//! `"type":"PushEvent"`; the others are IssuesEvent, PullRequestEvent, IssueCommentEvent,
//! WatchEvent, CreateEvent, DeleteEvent, ForkEvent, ReleaseEvent and
//! PullRequestReviewCommentEvent. `payload.action` is present on the event types that have
//! one (`opened`, `closed`, `created`, `started`, ...); where the payload also holds a big
//! object (`issue`, `pull_request`), the action comes after it on half of the lines.
//!
//! The bytes are awkward on purpose: long strings (commit messages, issue and pull-request
//! bodies) with `\n`, `\"`, `\\`, `\/`, `\u00e9` and surrogate-pair escapes, raw UTF-8 (é,
//! CJK, emoji), numbers (integers, decimals, negative, exponents), booleans and nulls, nested
//! `"type":"User"` keys, an `"action":"opened"` inside a nested object (`payload.issue.
//! last_event`), and escaped event text such as `{\"type\":\"PushEvent\"}` inside strings.
//! [`Stats::push_events`](super::Stats::push_events) and
//! [`Stats::action_opened`](super::Stats::action_opened) count the lines that
//! `--keep type=PushEvent` and `--keep payload.action=opened` retain.

use std::io::{self, Write};

use super::Gen;

/// Words of issue bodies and commit messages: ASCII, raw UTF-8 and emoji.
const WORDS: &[&str] = &[
    "fix",
    "the",
    "parser",
    "when",
    "input",
    "is",
    "empty",
    "add",
    "tests",
    "for",
    "unicode",
    "handling",
    "refactor",
    "module",
    "update",
    "README",
    "bump",
    "version",
    "to",
    "v2.3.1",
    "merge",
    "branch",
    "main",
    "into",
    "feature/search",
    "crash",
    "on",
    "startup",
    "with",
    "null",
    "config",
    "caf\u{e9}",
    "d\u{e9}j\u{e0}",
    "\u{fc}ber",
    "\u{65e5}\u{672c}\u{8a9e}",
    "\u{1f680}",
    "\u{1f389}",
    "\u{1f44d}",
    "\u{2705}",
    "https://example.com/docs?q=1&lang=en",
    "#1234",
    "@octocat",
    "`cargo",
    "test`",
];

/// Already JSON-escaped fragments.
const ESCAPES: &[&str] = &[
    "\\n",
    "\\n\\n",
    "\\r\\n",
    "\\\"quoted\\\"",
    "\\\\",
    "C:\\\\Users\\\\dev",
    "\\t",
    "\\u00e9",
    "\\u00fc",
    "\\ud83d\\ude80",
    "\\/",
    "```\\nfn main() {\\n    println!(\\\"hi\\\");\\n}\\n```",
    "{\\\"type\\\":\\\"PushEvent\\\",\\\"payload\\\":{\\\"action\\\":\\\"opened\\\"}}",
    "- [x] done\\n- [ ] todo",
];

const LOGINS: &[&str] = &[
    "octocat",
    "dependabot[bot]",
    "jos\u{e9}-garc\u{ed}a",
    "alice",
    "bob-the-builder",
    "li-wei",
    "renovate[bot]",
    "mkdir-p",
    "zo\u{eb}",
];

const REPOS: &[&str] = &[
    "rust-lang/rust",
    "torvalds/linux",
    "simdjson/simdjson",
    "octo-org/hello-world",
    "jqlang/jq",
    "example/\u{e9}t\u{e9}",
    "kubernetes/kubernetes",
];

const BRANCHES: &[&str] = &[
    "main",
    "master",
    "develop",
    "feature/search",
    "fix/issue-42",
];

/// Event types and their weights out of 100.
const TYPES: &[(&str, u64)] = &[
    ("PushEvent", 50),
    ("CreateEvent", 9),
    ("WatchEvent", 8),
    ("IssueCommentEvent", 8),
    ("PullRequestEvent", 8),
    ("IssuesEvent", 6),
    ("DeleteEvent", 3),
    ("ForkEvent", 3),
    ("ReleaseEvent", 3),
    ("PullRequestReviewCommentEvent", 2),
];

impl<W: Write> Gen<'_, W> {
    pub(super) fn events(&mut self, size: u64) -> io::Result<()> {
        const FILLER_HEAD: &str = r#"{"id":"0","type":"PublicEvent","public":true,"pad":""#;
        let filler_fixed = (FILLER_HEAD.len() + 3) as u64;
        loop {
            self.event_line();
            let n = self.line.len() as u64 + 1;
            if self.stats.bytes + n + filler_fixed > size {
                self.line.clear();
                break;
            }
            let (push, opened) = (self.ev_push, self.ev_opened);
            self.stats.push_events += push as u64;
            self.stats.action_opened += opened as u64;
            self.emit(false)?;
        }
        self.filler_with(size, FILLER_HEAD)
    }

    /// Builds one event line (without LF) in `self.line`; sets `ev_push` and `ev_opened`.
    fn event_line(&mut self) {
        let r = self.rng.below(100);
        let mut acc = 0;
        let mut ty = TYPES[0].0;
        for &(t, w) in TYPES {
            acc += w;
            if r < acc {
                ty = t;
                break;
            }
        }
        // Line size: log-uniform-ish between 200 B and 20 KiB.
        let target = match self.rng.below(10) {
            0..=5 => self.rng.range(200, 2000),
            6..=8 => self.rng.range(2000, 8000),
            _ => self.rng.range(8000, 20 * 1024),
        } as usize;
        let mut fields: Vec<(&'static str, Vec<u8>)> = Vec::with_capacity(8);
        let id = self.rng.range(2_000_000_000, 40_000_000_000);
        self.push("\"");
        self.push_num(id);
        self.push("\"");
        fields.push(("id", self.take()));
        self.push("\"");
        self.push(ty);
        self.push("\"");
        fields.push(("type", self.take()));
        let login = self.rng.pick(LOGINS);
        self.user(login, false);
        fields.push(("actor", self.take()));
        let repo = self.rng.pick(REPOS);
        self.push(r#"{"id":"#);
        let n = self.rng.range(1, 900_000_000);
        self.push_num(n);
        self.push(r#","name":""#);
        self.push(repo);
        self.push(r#"","url":"https://api.github.com/repos/"#);
        self.push(repo);
        self.push(r#""}"#);
        fields.push(("repo", self.take()));
        let s = if self.rng.chance(19, 20) {
            "true"
        } else {
            "false"
        };
        self.push(s);
        fields.push(("public", self.take()));
        self.push("\"");
        self.timestamp();
        self.push("\"");
        fields.push(("created_at", self.take()));
        match self.rng.below(4) {
            0 => {
                self.push(r#"{"id":"#);
                let n = self.rng.range(1, 90_000_000);
                self.push_num(n);
                self.push(r#","login":"octo-org","gravatar_id":"","url":"https://api.github.com/orgs/octo-org","avatar_url":"https://avatars.githubusercontent.com/u/9919?"}"#);
                fields.push(("org", self.take()));
            }
            1 => {
                self.push("null");
                fields.push(("org", self.take()));
            }
            _ => {}
        }
        let used: usize = fields.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
        let budget = target.saturating_sub(used + 16);
        self.ev_push = ty == "PushEvent";
        self.ev_opened = false;
        self.payload(ty, budget);
        fields.push(("payload", self.take()));

        // Key order: shuffle everything but `payload`, which goes last on 3 lines in 4;
        // `type` goes after everything on 1 line in 8.
        let payload = fields.pop().expect("payload was pushed");
        for i in (1..fields.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            fields.swap(i, j);
        }
        if self.rng.chance(3, 4) {
            fields.push(payload);
        } else {
            let at = self.rng.below(fields.len() as u64 + 1) as usize;
            fields.insert(at, payload);
        }
        if self.rng.chance(1, 8) {
            let at = fields
                .iter()
                .position(|(k, _)| *k == "type")
                .expect("type is a field");
            let t = fields.remove(at);
            fields.push(t);
        }
        self.line.push(b'{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            self.line.push(b'"');
            self.line.extend_from_slice(k.as_bytes());
            self.line.extend_from_slice(b"\":");
            self.line.extend_from_slice(v);
        }
        self.line.push(b'}');
    }

    /// The payload of an event of type `ty`, with long strings worth about `budget` bytes.
    fn payload(&mut self, ty: &str, budget: usize) {
        match ty {
            "PushEvent" => {
                self.push(r#"{"push_id":"#);
                let n = self.rng.range(1_000_000_000, 9_000_000_000);
                self.push_num(n);
                let commits = (budget / 400).clamp(1, 20) as u64;
                let commits = self.rng.range(1, commits);
                self.push(r#","size":"#);
                self.push_num(commits);
                self.push(r#","distinct_size":"#);
                self.push_num(commits);
                self.push(r#","ref":"refs/heads/"#);
                let b = self.rng.pick(BRANCHES);
                self.push(b);
                self.push(r#"","head":""#);
                self.sha();
                self.push(r#"","before":""#);
                self.sha();
                self.push(r#"","commits":["#);
                let each = (budget / commits as usize).saturating_sub(250);
                for c in 0..commits {
                    if c > 0 {
                        self.push(",");
                    }
                    self.push(r#"{"sha":""#);
                    self.sha();
                    self.push(r#"","author":{"email":""#);
                    let login = self.rng.pick(LOGINS);
                    self.push(login);
                    self.push(r#"@users.noreply.github.com","name":""#);
                    self.push(login);
                    self.push(r#""},"message":""#);
                    self.rich_prose(each.max(10));
                    self.push(r#"","distinct":"#);
                    let s = if self.rng.chance(9, 10) {
                        "true"
                    } else {
                        "false"
                    };
                    self.push(s);
                    self.push(r#","url":"https:\/\/api.github.com\/repos\/x\/y\/commits\/"#);
                    self.sha();
                    self.push(r#""}"#);
                }
                self.push("]}");
            }
            "IssuesEvent" => {
                let action = self
                    .rng
                    .pick(&["opened", "opened", "closed", "reopened", "edited"]);
                self.with_action(action, |g| {
                    g.push(r#""issue":"#);
                    g.issue(budget);
                });
            }
            "IssueCommentEvent" => {
                self.with_action("created", |g| {
                    g.push(r#""issue":"#);
                    g.issue(budget / 3);
                    g.push(r#","comment":"#);
                    g.comment(budget * 2 / 3);
                });
            }
            "PullRequestEvent" => {
                let action =
                    self.rng
                        .pick(&["opened", "opened", "closed", "synchronize", "reopened"]);
                self.with_action(action, |g| {
                    g.push(r#""number":"#);
                    let n = g.rng.range(1, 50_000);
                    g.push_num(n);
                    g.push(r#","pull_request":"#);
                    g.pull_request(budget);
                });
            }
            "PullRequestReviewCommentEvent" => {
                self.with_action("created", |g| {
                    g.push(r#""comment":"#);
                    g.comment(budget / 2);
                    g.push(r#","pull_request":"#);
                    g.pull_request(budget / 2);
                });
            }
            "ReleaseEvent" => {
                self.with_action("published", |g| {
                    g.push(r#""release":{"tag_name":"v"#);
                    let n = g.rng.range(0, 30);
                    g.push_num(n);
                    g.push(r#".0","draft":false,"prerelease":"#);
                    let s = if g.rng.chance(1, 5) { "true" } else { "false" };
                    g.push(s);
                    g.push(r#","assets":[],"body":""#);
                    g.rich_prose(budget.saturating_sub(100));
                    g.push(r#""}"#);
                });
            }
            "WatchEvent" => self.push(r#"{"action":"started"}"#),
            "CreateEvent" => {
                self.push(r#"{"ref":""#);
                let b = self.rng.pick(BRANCHES);
                self.push(b);
                self.push(r#"","ref_type":"branch","master_branch":"main","description":""#);
                let n = budget.min(600);
                self.rich_prose(n);
                self.push(r#"","pusher_type":"user"}"#);
            }
            "DeleteEvent" => {
                self.push(r#"{"ref":""#);
                let b = self.rng.pick(BRANCHES);
                self.push(b);
                self.push(r#"","ref_type":"branch","pusher_type":"user"}"#);
            }
            _ => {
                // ForkEvent
                self.push(r#"{"forkee":{"id":"#);
                let n = self.rng.range(1, 900_000_000);
                self.push_num(n);
                self.push(r#","name":"hello-world","full_name":"alice/hello-world","private":false,"owner":"#);
                let login = self.rng.pick(LOGINS);
                self.user(login, true);
                self.push(r#","fork":true,"size":0,"stargazers_count":0,"score":-1.5e-3,"homepage":null,"topics":["json","simd"]}}"#);
            }
        }
    }

    /// A payload object holding `action` and what `rest` writes (key-value pairs), the
    /// action first or, on half of the lines, last.
    fn with_action(&mut self, action: &str, rest: impl FnOnce(&mut Self)) {
        self.ev_opened = action == "opened";
        let last = self.rng.chance(1, 2);
        self.push("{");
        if !last {
            self.push(r#""action":""#);
            self.push(action);
            self.push(r#"","#);
        }
        rest(self);
        if last {
            self.push(r#","action":""#);
            self.push(action);
            self.push(r#"""#);
        }
        self.push("}");
    }

    fn issue(&mut self, budget: usize) {
        self.push(r#"{"url":"https://api.github.com/repos/x/y/issues/1","id":"#);
        let n = self.rng.range(1, 900_000_000);
        self.push_num(n);
        self.push(r#","number":"#);
        let n = self.rng.range(1, 50_000);
        self.push_num(n);
        self.push(r#","title":""#);
        self.rich_prose(60);
        self.push(r#"","user":"#);
        let login = self.rng.pick(LOGINS);
        self.user(login, true);
        self.push(r#","labels":[{"name":"bug","color":"d73a4a","default":true},{"name":"good first issue","color":"7057ff","default":false}],"state":"open","locked":false,"assignee":null,"milestone":null,"comments":"#);
        let n = self.rng.range(0, 300);
        self.push_num(n);
        if self.rng.chance(1, 4) {
            // A nested `action` that `payload.action` must not see.
            self.push(r#","last_event":{"action":"opened","actor":"alice"}"#);
        }
        self.push(r#","reactions":{"total_count":3,"+1":2,"-1":0,"heart":1},"body":""#);
        self.rich_prose(budget.saturating_sub(700));
        self.push(r#""}"#);
    }

    fn comment(&mut self, budget: usize) {
        self.push(r#"{"id":"#);
        let n = self.rng.range(1, 900_000_000);
        self.push_num(n);
        self.push(r#","user":"#);
        let login = self.rng.pick(LOGINS);
        self.user(login, true);
        self.push(r#","created_at":""#);
        self.timestamp();
        self.push(r#"","author_association":"CONTRIBUTOR","body":""#);
        self.rich_prose(budget.saturating_sub(350));
        self.push(r#""}"#);
    }

    fn pull_request(&mut self, budget: usize) {
        self.push(r#"{"id":"#);
        let n = self.rng.range(1, 900_000_000);
        self.push_num(n);
        self.push(r#","state":"open","title":""#);
        self.rich_prose(80);
        self.push(r#"","user":"#);
        let login = self.rng.pick(LOGINS);
        self.user(login, true);
        self.push(r#","body":""#);
        self.rich_prose(budget.saturating_sub(900));
        self.push(r#"","head":{"label":"alice:feature","ref":"feature/search","sha":""#);
        self.sha();
        self.push(r#""},"base":{"label":"octo-org:main","ref":"main","sha":""#);
        self.sha();
        self.push(r#""},"merged":false,"mergeable":null,"draft":"#);
        let s = if self.rng.chance(1, 6) {
            "true"
        } else {
            "false"
        };
        self.push(s);
        self.push(r#","additions":"#);
        let n = self.rng.range(0, 5000);
        self.push_num(n);
        self.push(r#","deletions":"#);
        let n = self.rng.range(0, 5000);
        self.push_num(n);
        self.push(r#","changed_files":"#);
        let n = self.rng.range(1, 80);
        self.push_num(n);
        self.push(r#","review_score":0.875,"merged_by":null}"#);
    }

    /// A user object; `typed` adds the nested `"type":"User"` key (as GitHub's full user
    /// objects have).
    fn user(&mut self, login: &str, typed: bool) {
        self.push(r#"{"id":"#);
        let n = self.rng.range(1, 150_000_000);
        self.push_num(n);
        self.push(r#","login":""#);
        self.push(login);
        self.push(r#"","display_login":""#);
        self.push(login);
        self.push(r#"","gravatar_id":"","url":"https:\/\/api.github.com\/users\/"#);
        self.push(login);
        self.push(r#"","avatar_url":"https://avatars.githubusercontent.com/u/"#);
        self.push_num(n);
        self.push("?\"");
        if typed {
            let s = if self.rng.chance(1, 10) {
                r#","type":"Bot","site_admin":false"#
            } else {
                r#","type":"User","site_admin":false"#
            };
            self.push(s);
        }
        self.push("}");
    }

    fn sha(&mut self) {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        let c = self.rng.next_u64() as u32;
        let s = format!("{a:016x}{b:016x}{c:08x}");
        self.push(&s);
    }

    /// Appends about `n` bytes (never more) of escaped prose with raw UTF-8 and emoji.
    fn rich_prose(&mut self, n: usize) {
        let end = self.line.len() + n;
        loop {
            let tok: &str = if self.rng.chance(1, 8) {
                self.rng.pick(ESCAPES)
            } else {
                self.rng.pick(WORDS)
            };
            if self.line.len() + tok.len() + 1 > end {
                break;
            }
            self.line.extend_from_slice(tok.as_bytes());
            self.line.push(b' ');
        }
        let pad = end - self.line.len();
        self.line.extend(std::iter::repeat_n(b'.', pad));
    }

    /// Takes the bytes built so far out of the line buffer.
    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.line)
    }
}
