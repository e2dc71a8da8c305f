// The one way the core sends email. Transports live with their runtime: SMTP and the development
// outbox in src/node/, an HTTP email API on the serverless target.
export type EmailMessage = {
  to: string;
  subject: string;
  text: string;
  html: string;
};

export interface Mailer {
  send(message: EmailMessage): Promise<void>;
}
