//! Semantic styles. With colour off (`NO_COLOR`, `--no-color`) everything is plain text plus
//! bold/reverse; the meaning is always carried by words and symbols too.

use ratatui::style::{Color, Modifier, Style};

use crate::logs::Level;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
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
        self.c(Style::default().fg(Color::Green))
    }
    pub fn bad(&self) -> Style {
        self.c(Style::default().fg(Color::Red).add_modifier(Modifier::BOLD))
    }
    pub fn warn(&self) -> Style {
        self.c(Style::default().fg(Color::Yellow))
    }
    pub fn dim(&self) -> Style {
        self.c(Style::default().fg(Color::DarkGray))
    }
    pub fn label(&self) -> Style {
        self.c(Style::default().fg(Color::Cyan))
    }
    pub fn key(&self) -> Style {
        self.c(Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD))
    }
    pub fn changed(&self) -> Style {
        if self.color {
            Style::default().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }
    pub fn matched(&self) -> Style {
        if self.color {
            Style::default().fg(Color::Black).bg(Color::Magenta)
        } else {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.c(Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD))
        } else {
            self.c(Style::default().fg(Color::DarkGray))
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
            "RUNNING" => Color::Green,
            "UNHEALTHY" | "STALE" | "UNKNOWN" => Color::Red,
            "STARTING" | "STOPPING" | "UNMANAGED" => Color::Yellow,
            _ => Color::DarkGray,
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
