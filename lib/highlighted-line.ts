/** One line of a file as styled runs (`style` carries the light colour and the dark one as --shiki-dark). */
export type HighlightedLine = { content: string; style?: Record<string, string> }[];
