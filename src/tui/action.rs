//! What a key press asks for. The keymap maps keys to actions; the app
//! carries them out. Nothing else reads raw keys.

/// A user intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    ToggleHelp,
    CloseOverlay,
    ShowStream,
    ShowSubjects,
    ShowAnomalies,
    ShowKinds,
    ShowLag,
    ShowSagas,
    /// Sagas view: show this instance's events in the stream.
    FilterToInstance,
    /// Sagas view: the selected instance's timeline.
    OpenTimeline,
    /// Sagas view: the waterfall of recent instances, or back to the list.
    ToggleWaterfall,
    /// Back from a timeline or the waterfall.
    Back,
    ZoomIn,
    ZoomOut,
    ZoomFit,
    /// Lag view: show flowscope's own readers too.
    ToggleHidden,
    StartFilter,
    ClearFilter,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Follow,
    ToggleDetail,
    SwitchFocus,
    Expand,
    Collapse,
    ToggleExpand,
    CycleSort,
    ReverseSort,
    FilterToSubject,
    ApplyInput,
    CancelInput,
    DeleteChar,
    ClearInput,
    /// Go to the event a flagged event relates to.
    JumpRelated,
    NextFlagged,
    PrevFlagged,
    /// Show incidents of the next anomaly kind only.
    CycleKind,
    CompareIncident,
    CloseCompare,
    FilterToType,
    /// Start or stop recording the live session.
    ToggleRecording,
    // Replay transport.
    PlayPause,
    Faster,
    Slower,
    Step,
    JumpBack,
    JumpForward,
    GoStart,
    GoEnd,
    StartGoTo,
}
