"""FrBio Studio's Gradio interface: one module per tab; handlers call backend/jobs and format, nothing more."""
