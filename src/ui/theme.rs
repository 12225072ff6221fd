//! Semantic styles. With colour off (`NO_COLOR`, `--no-color`) everything is plain text plus
//! bold/reverse; the meaning is always carried by words and symbols too.

use ratatui::style::{Color, Modifier, Style};

use crate::logs::Level;

/// The semantic colours `config.toml`'s `[colors]` can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub ok: Color,
    pub bad: Color,
    pub warn: Color,
    pub dim: Color,
    pub label: Color,
    pub key: Color,
    pub border: Color,
    pub matched: Color,
    pub changed: Color,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            ok: Color::Green,
            bad: Color::Red,
            warn: Color::Yellow,
            dim: Color::DarkGray,
            label: Color::Cyan,
            key: Color::Cyan,
            border: Color::Cyan,
            matched: Color::Magenta,
            changed: Color::Yellow,
        }
    }
}

/// `[colors]` names with what each colours (for `config --default`).
pub const COLOR_NAMES: &[(&str, &str)] = &[
    ("ok", "healthy marks, the RUNNING badge"),
    ("bad", "failures, errors, orphans"),
    ("warn", "warnings, actions in progress"),
    ("dim", "secondary text, unfocused borders"),
    ("label", "field labels"),
    ("key", "keys in the footer and help"),
    ("border", "the focused panel's border"),
    ("matched", "search matches (background)"),
    ("changed", "a file that just changed (background)"),
];

impl Palette {
    /// Set one colour by its `[colors]` name; false for an unknown name.
    pub fn set(&mut self, name: &str, c: Color) -> bool {
        let slot = match name {
            "ok" => &mut self.ok,
            "bad" => &mut self.bad,
            "warn" => &mut self.warn,
            "dim" => &mut self.dim,
            "label" => &mut self.label,
            "key" => &mut self.key,
            "border" => &mut self.border,
            "matched" => &mut self.matched,
            "changed" => &mut self.changed,
            _ => return false,
        };
        *slot = c;
        true
    }

    pub fn get(&self, name: &str) -> Option<Color> {
        Some(match name {
            "ok" => self.ok,
            "bad" => self.bad,
            "warn" => self.warn,
            "dim" => self.dim,
            "label" => self.label,
            "key" => self.key,
            "border" => self.border,
            "matched" => self.matched,
            "changed" => self.changed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    pub pal: Palette,
}

impl Theme {
    fn c(&self, s: Style) -> Style {
        if self.color {
            s
        } else {
            Style::default().add_modifier(s.add_modifier)
        }
    }
    pub fn ok(&self) -> Style {
        self.c(Style::default().fg(self.pal.ok))
    }
    pub fn bad(&self) -> Style {
        self.c(Style::default()
            .fg(self.pal.bad)
            .add_modifier(Modifier::BOLD))
    }
    pub fn warn(&self) -> Style {
        self.c(Style::default().fg(self.pal.warn))
    }
    pub fn dim(&self) -> Style {
        self.c(Style::default().fg(self.pal.dim))
    }
    pub fn label(&self) -> Style {
        self.c(Style::default().fg(self.pal.label))
    }
    pub fn key(&self) -> Style {
        self.c(Style::default()
            .fg(self.pal.key)
            .add_modifier(Modifier::BOLD))
    }
    pub fn changed(&self) -> Style {
        if self.color {
            Style::default().fg(Color::Black).bg(self.pal.changed)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }
    pub fn matched(&self) -> Style {
        if self.color {
            Style::default().fg(Color::Black).bg(self.pal.matched)
        } else {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.c(Style::default()
                .fg(self.pal.border)
                .add_modifier(Modifier::BOLD))
        } else {
            self.c(Style::default().fg(self.pal.dim))
        }
    }
    pub fn level(&self, l: Option<Level>) -> Style {
        match l {
            Some(Level::Error) => self.bad(),
            Some(Level::Warn) => self.warn(),
            Some(Level::Debug) => self.dim(),
            Some(Level::Info) => Style::default(),
            None => self.c(Style::default().fg(Color::Magenta)),
        }
    }
    pub fn badge(&self, label: &str) -> Style {
        let bg = match label {
            "RUNNING" => self.pal.ok,
            "UNHEALTHY" | "STALE" | "TAKEN" | "UNKNOWN" => self.pal.bad,
            "STARTING" | "STOPPING" | "UNMANAGED" | "DEGRADED" | "STALLED" => self.pal.warn,
            "FLAPPING" => self.pal.bad,
            _ => self.pal.dim,
        };
        if self.color {
            Style::default()
                .fg(Color::Black)
                .bg(bg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }
}
