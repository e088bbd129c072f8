"""Qt item models over the read-side services (`…TableModel`), holding ids or DTOs only."""
