"""The papers wmgeom reproduces and builds on, cited by key.

Docstrings, figure captions, the findings tables and the report cite a paper as
``cite("lei2024", "Fig. 4g")`` → ``"Lei et al. 2024, Fig. 4g"``; :data:`REFERENCES` holds
the full reference once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REFERENCES", "Reference", "cite"]


@dataclass(frozen=True)
class Reference:
    """One paper.

    Attributes:
        key: Short key used in code (``lei2024``).
        short: How the page cites it (``Lei et al. 2024``).
        authors: The authors, as printed.
        title: The title.
        venue: Where it appeared.
        url: A stable link (arXiv, DOI).
    """

    key: str
    short: str
    authors: str
    title: str
    venue: str
    url: str

    @property
    def full(self) -> str:
        """The full reference in one line."""
        return " ".join(p for p in (f"{self.authors} ({self.short[-4:]}). {self.title}.",
                                    f"{self.venue}.", self.url) if p)


REFERENCES: dict[str, Reference] = {r.key: r for r in (
    Reference("lei2024", "Lei et al. 2024", "Lei, X., Ito, T. & Bashivan, P.",
              "Geometry of naturalistic object representations in recurrent neural network "
              "models of working memory", "arXiv:2411.02685",
              "https://arxiv.org/abs/2411.02685"),
    Reference("cueva2021", "Cueva et al. 2021", "Cueva, C. J., Ardalan, A., Tsodyks, M. & "
              "Qian, N.", "Recurrent neural network models for working memory of continuous "
              "variables: activity manifolds, connectivity patterns, and dynamic codes",
              "arXiv, 2021", ""),
    Reference("sussillo2013", "Sussillo & Barak 2013", "Sussillo, D. & Barak, O.",
              "Opening the black box: low-dimensional dynamics in high-dimensional recurrent "
              "neural networks", "Neural Computation 25(3)", "https://doi.org/10.1162/NECO_a_00409"),
    Reference("kriegeskorte2008", "Kriegeskorte et al. 2008", "Kriegeskorte, N., Mur, M. & "
              "Bandettini, P.", "Representational similarity analysis – connecting the "
              "branches of systems neuroscience", "Frontiers in Systems Neuroscience 2",
              "https://doi.org/10.3389/neuro.06.004.2008"),
    Reference("williams2021", "Williams et al. 2021", "Williams, A. H., Kunz, E., Kornblith, "
              "S. & Linderman, S. W.", "Generalized shape metrics on neural representations",
              "NeurIPS 34", "https://arxiv.org/abs/2110.14739"),
    Reference("ostrow2023", "Ostrow et al. 2023", "Ostrow, M., Eisen, A., Kozachkov, L. & "
              "Fiete, I.", "Beyond geometry: comparing the temporal structure of computation "
              "in neural circuits with dynamical similarity analysis", "NeurIPS 36",
              "https://arxiv.org/abs/2306.10168"),
)}
"""Every paper cited, by key."""


def cite(key: str, where: str = "") -> str:
    """``"Lei et al. 2024, Fig. 4g"`` for ``cite("lei2024", "Fig. 4g")``.

    Raises:
        KeyError: For a key not in :data:`REFERENCES` (a typo in the package, not a user error).
    """
    short = REFERENCES[key].short
    return f"{short}, {where}" if where else short
