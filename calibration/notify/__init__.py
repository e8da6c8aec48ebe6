"""Mail: composing it (``mail``), keeping it until sent (``outbox``), and what each event or
schedule calls for (``bookings``, ``reviews``, ``dispatch``). This layer sits above the services
(it reads their results) and beside the web and CLI layers, which deliver after their commit."""
