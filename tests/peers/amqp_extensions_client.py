"""The traffic of amqp__remora__rabbitmq-extensions.pcap: pika (pure Python, so its bytes
are the library's own) against a real RabbitMQ broker, using RabbitMQ's extensions to
AMQP 0-9-1 on one connection:

- channel 1: publisher confirms (confirm.select), then basic.publish answered by the
  broker's basic.ack, a mandatory publish that routes nowhere (basic.return 312 NO_ROUTE,
  then basic.ack), exchange-to-exchange bindings (exchange.bind, exchange.unbind);
- channel 2: a consumer that rejects three deliveries at once with basic.nack
  (multiple=true, requeue=false), then basic.cancel from the client;
- channel 3: a consumer on an exclusive, auto-delete queue that channel 4 deletes, so the
  broker sends basic.cancel to the client (consumer_cancel_notify);
- channel 5: a publish to an exchange that does not exist (channel.close 404);
- with CTL given, connection.blocked / connection.unblocked: CTL (a command that runs
  rabbitmqctl against the broker) lowers the memory high watermark to raise the memory
  alarm, channel 1 publishes, and CTL restores the watermark two seconds later.

    python3 amqp_extensions_client.py ADDRESS PORT [CTL]
"""

import subprocess
import sys
import threading

import pika
import pika.exceptions

address, port = sys.argv[1], int(sys.argv[2])
ctl = sys.argv[3] if len(sys.argv) > 3 else None
events = []

connection = pika.BlockingConnection(pika.ConnectionParameters(
    host=address, port=port, virtual_host="/", credentials=pika.PlainCredentials("guest", "guest"),
    client_properties={"connection_name": "remora-extensions"}))
connection.add_on_connection_blocked_callback(lambda _c, frame: events.append(frame.method.NAME))
connection.add_on_connection_unblocked_callback(lambda _c, frame: events.append(frame.method.NAME))

# Publisher confirms and exchange-to-exchange bindings.
publisher = connection.channel()
publisher.confirm_delivery()
publisher.exchange_declare("orders", exchange_type="topic")
publisher.exchange_declare("audit", exchange_type="fanout")
publisher.exchange_bind(destination="audit", source="orders", routing_key="order.#")
publisher.queue_declare("audit-log")
publisher.queue_bind("audit-log", "audit")
for number in range(1, 4):
    publisher.basic_publish("orders", "order.created", b'{"order": %d}' % number,
                            pika.BasicProperties(content_type="application/json", delivery_mode=2))
try:
    publisher.basic_publish("orders", "invoice.paid", b'{"invoice": 9}', mandatory=True)
except pika.exceptions.UnroutableError:
    events.append("Basic.Return")

# A consumer that rejects all three deliveries with one basic.nack (multiple=true).
consumer = connection.channel()
consumer.basic_qos(prefetch_count=10)
last_tag = None
for method, _properties, _body in consumer.consume("audit-log", inactivity_timeout=2):
    if method is None:
        break
    last_tag = method.delivery_tag
    if last_tag == 3:
        break
consumer.basic_nack(delivery_tag=last_tag, multiple=True, requeue=False)
consumer.cancel()
publisher.exchange_unbind(destination="audit", source="orders", routing_key="order.#")

# A consumer whose queue is deleted under it: the broker cancels it (basic.cancel).
watcher = connection.channel()
watcher.add_on_cancel_callback(lambda frame: events.append(frame.method.NAME))
queue = watcher.queue_declare("", exclusive=True, auto_delete=True).method.queue
watcher.queue_bind(queue, "orders", routing_key="order.#")
watcher.basic_consume(queue, lambda *_: None, consumer_tag="remora-watcher")
connection.channel().queue_delete(queue)
connection.process_data_events(time_limit=1)

# A publish to a missing exchange closes the channel with 404 NOT_FOUND.
doomed = connection.channel()
doomed.confirm_delivery()
try:
    doomed.basic_publish("no-such-exchange", "order.created", b"{}")
except pika.exceptions.ChannelClosedByBroker as error:
    events.append("Channel.Close %d" % error.reply_code)

# connection.blocked / connection.unblocked by the memory alarm.
if ctl:
    subprocess.run([ctl, "set_vm_memory_high_watermark", "0.0000001"], check=True, capture_output=True)
    connection.process_data_events(time_limit=1)
    restore = threading.Timer(2, subprocess.run, [[ctl, "set_vm_memory_high_watermark", "0.4"]],
                              {"check": True, "capture_output": True})
    restore.start()
    publisher.basic_publish("orders", "order.created", b'{"order": 4}')
    restore.join()
    connection.process_data_events(time_limit=1)

publisher.queue_delete("audit-log")
publisher.exchange_delete("audit")
publisher.exchange_delete("orders")
connection.close()
print(" ".join(events))
