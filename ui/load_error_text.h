// The engine's error messages rewritten for the people who see them in a dialog: what went wrong and what to do in
// the app (menus and controls, never command-line flags or source paths). The engine's own text goes to the log.
#pragma once

#include <QString>

namespace flux::ui {

// Why opening `path` failed, from the engine's message: not a model, a damaged file, a folder without config.json,
// the CUDA backend without a GPU, ...
QString loadErrorText(const QString& path, const QString& engine_message);
// Why a run was refused (e.g. a prompt over the context, in tokens and with the control that fixes it); other
// messages pass through.
QString runErrorText(const QString& engine_message);

}  // namespace flux::ui
