"""Prompt templates as versioned data: ``prompts/<name>.j2`` rendered with jinja2 and strict variables.

Where: ``prompts/`` in the repository is the source of truth; ``rag/prompt_templates`` links to it and is
shipped as package data, so a wheel or ``pip install .`` renders prompts without the repository
(``packaged_prompts_dir``, found with importlib.resources). ``SANAD_PROMPTS_DIR`` overrides it.

Why strict: a template that silently renders an empty variable produces a prompt that looks fine and answers
badly; a missing variable must fail loudly (``ConfigError``) the first time the template is used.
"""

from __future__ import annotations

from pathlib import Path

from rag.errors import ConfigError

__all__ = ["PromptLibrary", "packaged_prompts_dir"]


def packaged_prompts_dir() -> Path:
    """The templates installed with the ``rag`` package (a real folder in a wheel, a link in the repository)."""
    from importlib import resources

    return Path(str(resources.files("rag") / "prompt_templates"))


class PromptLibrary:
    """Loads and renders the templates of one folder (default: the packaged ones), read lazily on first render."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else packaged_prompts_dir()
        self._env: object | None = None

    def _environment(self) -> object:
        if self._env is None:
            import jinja2

            self._env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(str(self.directory)),
                undefined=jinja2.StrictUndefined,
                autoescape=False,
                keep_trailing_newline=False,
                trim_blocks=True,
                lstrip_blocks=True,
            )
        return self._env

    def render(self, name: str, **variables: object) -> str:
        """Render ``prompts/<name>.j2``; unknown template or missing variable -> ``ConfigError``."""
        import jinja2

        env = self._environment()
        try:
            template = env.get_template(f"{name}.j2")  # type: ignore[attr-defined]
            return str(template.render(**variables)).strip() + "\n"
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(
                f"prompt template {name!r} not found in {self.directory}",
                hint="check SANAD_PROMPTS_DIR or restore the file from the repository",
            ) from exc
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"prompt template {name!r} needs a variable that was not given: {exc.message}",
                hint="pass every variable listed in prompts/README.md",
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"prompt template {name!r} has a syntax error on line {exc.lineno}: {exc.message}",
                hint="fix the template",
            ) from exc

    def names(self) -> list[str]:
        """Template names available (file stems), sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.name[: -len(".j2")] for p in self.directory.glob("*.j2"))
